"""Django 5.2 as its users run it, against one endpoint (TOOLS_* environment, see
tests/tools/run.sh), through PyMySQL standing in for mysqlclient (pymysql.install_as_MySQLdb(),
as Django's documentation allows): TLS verifying the server's certificate and host name,
`migrate` of the contrib apps (auth, contenttypes, sessions, admin), then ORM queries."""

import os

import pymysql

pymysql.install_as_MySQLdb()

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

env = os.environ
DB = "tools_django"
conn = pymysql.connect(host=env["TOOLS_HOST"], port=int(env["TOOLS_PORT"]), user=env["TOOLS_USER"],
                       password=env["TOOLS_PASSWORD"], ssl_ca=env["TOOLS_CA"], ssl_verify_cert=True,
                       ssl_verify_identity=True)
with conn.cursor() as cur:
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")

settings.configure(
    DATABASES={"default": {
        "ENGINE": "django.db.backends.mysql", "NAME": DB, "HOST": env["TOOLS_HOST"], "PORT": env["TOOLS_PORT"],
        "USER": env["TOOLS_USER"], "PASSWORD": env["TOOLS_PASSWORD"],
        "OPTIONS": {"ssl_ca": env["TOOLS_CA"], "ssl_verify_cert": True, "ssl_verify_identity": True},
    }},
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                    "django.contrib.admin", "django.contrib.messages"],
    USE_TZ=True,
    TIME_ZONE="UTC",
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()
call_command("migrate", interactive=False, verbosity=0)

from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.db import connection  # noqa: E402

with connection.cursor() as cur:
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
    version = cur.fetchone()[1]
assert version.startswith("TLSv1."), f"not a TLS connection: {version!r}"
editors = Group.objects.create(name="editors")
editors.permissions.add(*Permission.objects.filter(codename__in=["add_user", "change_user"]))
alice = User.objects.create_user("alice", "alice@example.com", "s3cret-Pw", first_name="Ålice")
alice.groups.add(editors)
assert User.objects.get(username="alice").check_password("s3cret-Pw")
assert User.objects.filter(groups__name="editors", first_name__startswith="Å").count() == 1
assert alice.has_perm("auth.change_user")
updated = User.objects.filter(username="alice").update(is_staff=True)
assert updated == 1, updated
assert list(User.objects.filter(is_staff=True).values_list("username", flat=True)) == ["alice"]

with conn.cursor() as cur:
    cur.execute(f"DROP DATABASE {DB}")
conn.close()
print(f"Django {django.get_version()}: migrate of the contrib apps, then ORM queries over {version}")
