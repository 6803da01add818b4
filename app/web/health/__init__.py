from flask import Blueprint

bp = Blueprint("health", __name__)
