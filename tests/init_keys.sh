#!/usr/bin/env bash
# `goldroot init` creates the site's ed25519 key, the server's TLS key and
# the Secure Boot key once, private and readable by openssl, and never replaces them on a
# second init.
set -euo pipefail
site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT
"$GOLDROOT" --site "$site/site" init >/dev/null
keys="$site/site/keys"
[[ "$(stat -c %a "$keys/site.key")" == 600 ]] || { echo "site.key is not 0600"; exit 1; }
openssl pkey -in "$keys/site.key" -noout
openssl pkey -pubin -in "$keys/site.pub" -noout -text | grep -q ED25519
[[ "$(stat -c %a "$keys/tls.key")" == 600 ]] || { echo "tls.key is not 0600"; exit 1; }
openssl pkey -in "$keys/tls.key" -noout -text | grep -q "NIST CURVE: P-256"
openssl x509 -in "$keys/tls.crt" -noout -ext subjectAltName | grep -q "DNS:localhost"
[[ "$(stat -c %a "$keys/secureboot.key")" == 600 ]] || { echo "secureboot.key is not 0600"; exit 1; }
openssl pkey -in "$keys/secureboot.key" -noout -text | grep -q "Private-Key: (2048 bit"
openssl x509 -inform der -in "$keys/secureboot.der" -noout -subject | grep -q "Secure Boot"
before="$(sha256sum <"$keys/site.key")"
tls_before="$(sha256sum <"$keys/tls.key")"
secure_boot_before="$(sha256sum <"$keys/secureboot.key")"
"$GOLDROOT" --site "$site/site" init >/dev/null
[[ "$(sha256sum <"$keys/secureboot.key")" == "$secure_boot_before" ]] || { echo "second init replaced secureboot.key"; exit 1; }
[[ "$(sha256sum <"$keys/site.key")" == "$before" ]] || { echo "second init replaced the key"; exit 1; }
[[ "$(sha256sum <"$keys/tls.key")" == "$tls_before" ]] || { echo "second init replaced tls.key"; exit 1; }
# The published key is the private key's public half.
diff <(openssl pkey -in "$keys/site.key" -pubout) "$keys/site.pub"
echo "init_keys: ok"
