"""Failed sign-ins are throttled per account and per IP; good ones cost nothing."""
from app.demo import DEMO_PASSWORD


def test_account_is_locked_after_five_failures_even_with_the_right_password(demo, client, make_client):
    for _ in range(5):
        assert client.login("alice@acme.test", "wrong-password").status_code == 401
    blocked = client.login("alice@acme.test", DEMO_PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.get_data(as_text=True)
    # Another address cannot bypass the per-account limit.
    assert make_client(remote_addr="198.51.100.7").login("alice@acme.test").status_code == 429
    # Another account from the same address is not affected.
    assert client.login("bob@acme.test").status_code == 302


def test_address_is_blocked_after_twenty_failures_across_accounts(demo, make_client):
    attacker = make_client(remote_addr="192.0.2.66")
    for n in range(20):
        assert attacker.login(f"guess{n}@acme.test", "wrong-password").status_code == 401
    assert attacker.login("gina@globex.test").status_code == 429
    # Someone else, elsewhere, still signs in.
    assert make_client(remote_addr="192.0.2.67").login("gina@globex.test").status_code == 302


def test_successful_logins_do_not_count(demo, client):
    for _ in range(8):
        assert client.login("bob@acme.test").status_code == 302
        client.logout()
    assert client.login("bob@acme.test", "wrong-password").status_code == 401


def test_forged_forwarded_for_does_not_change_the_throttled_address(demo, make_client):
    attacker = make_client(remote_addr="192.0.2.80")
    for n in range(20):
        headers = {"X-Forwarded-For": f"10.0.0.{n}"}
        attacker.http.post("/login", data={"email": f"x{n}@acme.test", "password": "nope",
                                           "csrf_token": attacker.csrf_token()}, headers=headers)
    response = attacker.http.post("/login", data={"email": "bob@acme.test", "password": DEMO_PASSWORD,
                                                  "csrf_token": attacker.csrf_token()},
                                  headers={"X-Forwarded-For": "10.9.9.9"})
    assert response.status_code == 429
