"""The webhooks pages, written once and registered on both the client and the
partner portal (see views.register)."""
