#!/bin/sh
# gen-certs.sh DIR - a throwaway CA (ca.pem, ca.key) and a localhost server
# certificate signed by it (server.pem: the server certificate only; server.key)
# for sbx-emu's TLS listener. SAN: localhost, *.localhost, 127.0.0.1; 30 days.
# Idempotent: does nothing while the files exist and stay valid for > 1 day.
# Quiet on success; openssl's messages go to stderr on failure.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
cd "$dir"

# Valid when all files exist, both certs outlive tomorrow and server.pem
# chains to ca.pem.
valid() {
  for f in ca.pem ca.key server.pem server.key; do [ -s "$f" ] || return 1; done
  openssl x509 -in ca.pem -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl x509 -in server.pem -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl verify -CAfile ca.pem server.pem >/dev/null 2>&1
}
valid && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log

run() { "$@" >>"$log" 2>&1 || { cat "$log" >&2; echo "gen-certs: failed: $*" >&2; exit 1; }; }

cat >"$tmp/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = sbx-emu test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

cat >"$tmp/server.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[v3_srv]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:*.localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

umask 077
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 30 -config "$tmp/ca.cnf"
run openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$tmp/server.key" -out "$tmp/server.csr" -config "$tmp/server.cnf"
run openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$tmp/server.cnf" \
  -extensions v3_srv -out "$tmp/server.pem"
chmod 644 "$tmp/ca.pem" "$tmp/server.pem"
# Replace all four together so a CA never mismatches its server cert.
mv -f "$tmp/ca.key" "$tmp/server.key" .
mv -f "$tmp/ca.pem" "$tmp/server.pem" .
