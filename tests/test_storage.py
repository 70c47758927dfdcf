"""Storage URLs: passwords never printed, and taken out of URLs whole."""

import pytest

from muop.storage import redact, split_password


@pytest.mark.parametrize(
    "url,shown",
    [
        ("postgresql://bob:hunter2@db:5432/x", "postgresql://bob:***@db:5432/x"),
        ("postgresql://user:sec@ret@host/db", "postgresql://user:***@host/db"),  # '@' inside the password
        ("postgresql://user:a/b@c@host/db?sslmode=require", "postgresql://user:***@host/db?sslmode=require"),
        ("postgresql://bob@db/x?password=secret", "postgresql://bob@db/x?password=***"),
        (
            "postgresql://bob@db/x?sslmode=require&password=secret&connect_timeout=5",
            "postgresql://bob@db/x?sslmode=require&password=***&connect_timeout=5",
        ),
        ("postgresql://bob:one@db/x?PASSWORD=two", "postgresql://bob:***@db/x?PASSWORD=***"),
        ("postgresql://db:5432/x?application_name=a@b", "postgresql://db:5432/x?application_name=a@b"),  # no user part
        ("sqlite:////home/a@b/x.db", "sqlite:////home/a@b/x.db"),
        ("failed: postgresql://u:p@ss@h/db (timeout)", "failed: postgresql://u:***@h/db (timeout)"),  # inside a message
    ],
)
def test_redact_masks_every_password(url, shown):
    assert redact(url) == shown
    for secret in ("hunter2", "sec@ret", "a/b@c", "secret", "one", "two", "p@ss"):
        assert secret not in redact(url)


@pytest.mark.parametrize(
    "url,bare,password",
    [
        ("postgresql://user:sec@ret@host/db", "postgresql://user@host/db", "sec@ret"),
        ("postgresql://bob@db/x?password=secret", "postgresql://bob@db/x", "secret"),
        (
            "postgresql://bob@db/x?sslmode=require&password=s3&connect_timeout=5",
            "postgresql://bob@db/x?sslmode=require&connect_timeout=5",
            "s3",
        ),
        ("postgresql://bob:one@db/x?password=two", "postgresql://bob@db/x", "two"),  # the query wins, as in libpq
        ("postgresql://bob@db/x?sslmode=require", "postgresql://bob@db/x?sslmode=require", None),
        ("postgresql://db:5432/x?application_name=a@b", "postgresql://db:5432/x?application_name=a@b", None),
    ],
)
def test_split_password_takes_the_whole_password_out(url, bare, password):
    assert split_password(url) == (bare, password)
