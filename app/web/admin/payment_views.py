"""Placeholder: being written."""


def register(bp) -> None:
    pass
