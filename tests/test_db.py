from pantao.db import libpq_params, redact, sqlalchemy_url, with_database


def test_libpq_params_decode_percent_encoded_credentials():
    params = libpq_params("postgresql://us%40er:p%40ss%2Fw@db.example:5433/crm")
    assert params == {"host": "db.example", "port": "5433", "user": "us@er", "password": "p@ss/w", "dbname": "crm"}


def test_libpq_params_of_a_socket_dsn():
    params = libpq_params("postgresql://postgres@/pantao?host=/tmp/sock")
    assert params["host"] == "/tmp/sock" and params["dbname"] == "pantao" and params["password"] == ""


def test_redact_hides_the_password_only():
    assert redact("postgresql://crm:s3cret@db:5432/crm") == "postgresql://crm:***@db:5432/crm"
    assert redact("postgresql://postgres@127.0.0.1:5432/pantao") == "postgresql://postgres@127.0.0.1:5432/pantao"


def test_sqlalchemy_url_pins_psycopg2_and_with_database_swaps_the_name():
    url = "postgresql://u:p@h:1/a?sslmode=require"
    assert sqlalchemy_url(url) == "postgresql+psycopg2://u:p@h:1/a?sslmode=require"
    assert with_database(url, "b") == "postgresql://u:p@h:1/b?sslmode=require"


def test_redact_also_hides_a_password_parameter():
    assert redact("postgresql://crm@db/crm?password=s3cret&sslmode=require") == \
        "postgresql://crm@db/crm?password=***&sslmode=require"


def test_libpq_params_read_the_password_from_the_dsns_passfile_as_libpq_does(tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("# comment\nother:*:*:postgres:not-this\n*:*:*:postgres:pa\\:ss\\\\word\n")
    passfile.chmod(0o600)
    params = libpq_params(f"postgresql://postgres@127.0.0.1:5433/pantao?passfile={passfile}")
    assert params["password"] == "pa:ss\\word"
    assert libpq_params(f"postgresql://someone@127.0.0.1:5433/pantao?passfile={passfile}")["password"] == ""
    assert libpq_params(f"postgresql://postgres@h/p?passfile={tmp_path / 'missing'}")["password"] == ""
