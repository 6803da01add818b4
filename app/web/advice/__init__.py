"""Portal pages for cost advice: the client's recommendations (list, detail, apply / dismiss / snooze)."""
