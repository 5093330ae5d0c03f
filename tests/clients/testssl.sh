#!/usr/bin/env bash
# A TLS scan of the tlsql binary on its defaults (auto-tls), as an outside auditor would run it:
# testssl.sh (Debian package testssl.sh) over STARTTLS for MySQL, every check it has. The
# findings (its JSON output) must show:
#
# - TLS 1.2 and TLS 1.3 offered, SSLv2, SSLv3, TLS 1.0 and TLS 1.1 not;
# - every cipher suite offered forward secret (ECDHE/DHE, or TLS 1.3) and AEAD (AES-GCM,
#   AES-CCM, ChaCha20-Poly1305);
# - the server's cipher order, not the client's;
# - nothing of severity MEDIUM, HIGH, CRITICAL or WARN (a check that could not run), apart from
#   two findings about where the certificate comes from rather than how TLS is configured:
#   `cert_revocation` (auto-tls certificates come from a private CA made for this server, with
#   no CRL or OCSP responder to point at) and `DNS_CAArecord` (there is no DNS for 127.0.0.1).
#
# Needs: TLSQLTEST_BIN (the server binary), TLSQLTEST_BACKEND (rustls | openssl | boring).
set -euo pipefail
BIN=${TLSQLTEST_BIN:?set TLSQLTEST_BIN to the tlsql binary}
BACKEND=${TLSQLTEST_BACKEND:-rustls}
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-testssl.XXXXXX")
PID=""
cleanup() {
  if [[ -n $PID ]]; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --port 0 --data-dir "$WORK/data" --socket "$WORK/tlsql.sock" --tls-backend "$BACKEND" --log-level info \
  >"$WORK/server.log" 2>&1 &
PID=$!
PORT=""
for _ in $(seq 1 200); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -n1)
  [[ -n $PORT ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log"; echo "server exited"; exit 1; }
  sleep 0.1
done
[[ -n $PORT ]] || { cat "$WORK/server.log"; echo "server did not start"; exit 1; }

# The verdict, from testssl's JSON: exit 0 when it holds, 1 on a finding, 2 when the only
# problems are checks testssl could not run (severity WARN, e.g. a session-resumption probe whose
# connection closed before the ticket came on a loaded machine): those are scanned again.
verdict() {
"$PY" - "$WORK/findings.json" "$BACKEND" <<'PYEOF'
import json, sys

findings = json.load(open(sys.argv[1]))
backend = sys.argv[2]
by_id = {f["id"]: f for f in findings}
problems = []

def finding(id):
    f = by_id.get(id)
    if f is None:
        problems.append(f"testssl reported nothing for {id}")
        return ""
    return f["finding"]

for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    if not finding(old).startswith("not offered"):
        problems.append(f"{old}: {finding(old)}")
for new in ("TLS1_2", "TLS1_3"):
    if not finding(new).startswith("offered"):
        problems.append(f"{new}: {finding(new)}")

# cipher_xNNNN: "xc02b ECDHE-ECDSA-AES128-GCM-SHA256 ECDH 253 AESGCM 128 TLS_ECDHE_…"
suites = [f["finding"].split() for f in findings if f["id"].startswith("cipher_x")]
if not suites:
    problems.append("no cipher suites listed")
for suite in suites:
    name, kx, enc = suite[1], suite[2], suite[4]
    forward_secret = kx in ("ECDH", "DH") or name.startswith("TLS_")
    aead = enc in ("AESGCM", "AESCCM", "ChaCha20")
    if not (forward_secret and aead):
        problems.append(f"suite {name}: key exchange {kx}, encryption {enc}")

if not finding("cipher_order").startswith("server"):
    problems.append(f"cipher order: {finding('cipher_order')}")

about_the_certificate_source = {"cert_revocation", "DNS_CAArecord"}
for f in findings:
    if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL", "WARN") and f["id"] not in about_the_certificate_source:
        problems.append(f"{f['id']} ({f['severity']}): {f['finding']}")

if problems:
    print(f"testssl on {backend}:")
    for p in problems:
        print("  " + p)
    sys.exit(2 if all(" (WARN): " in p for p in problems) else 1)
names = " ".join(s[1] for s in suites)
print(f"--- testssl on {backend}: TLSv1.2 and TLSv1.3 only, {len(suites)} forward-secret AEAD suites "
      f"({names}), server order, {len(findings)} findings, none MEDIUM or worse")
PYEOF
}

for attempt in 1 2 3; do
  echo "--- testssl --starttls mysql against $BACKEND on 127.0.0.1:$PORT (about two minutes; attempt $attempt)"
  # testssl's exit status counts findings (cert_revocation among them); the verdict is ours, from
  # the JSON, which has a scanTime entry only when the scan ran to the end.
  rm -f "$WORK/findings.json"
  testssl --quiet --color 0 --warnings off --starttls mysql --add-ca "$WORK/data/tls/ca.pem" \
    --jsonfile "$WORK/findings.json" "127.0.0.1:$PORT" >"$WORK/testssl.txt" 2>&1 || true
  grep -q '"scanTime"' "$WORK/findings.json" 2>/dev/null ||
    { cat "$WORK/testssl.txt"; echo "testssl did not finish its scan"; exit 1; }
  rc=0
  verdict || rc=$?
  case $rc in
    0) exit 0 ;;
    2) echo "--- a check could not run; scanning again" ;;
    *) cat "$WORK/testssl.txt"; exit 1 ;;
  esac
done
cat "$WORK/testssl.txt"
exit 1
