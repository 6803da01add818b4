from flask import Blueprint

bp = Blueprint("client", __name__)
