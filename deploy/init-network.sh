#!/bin/sh
# Founds the four-validator network of deploy/compose.yaml, once: each validator's key and
# its organisation's admin key, a members manifest naming the compose services as hosts
# (node0..node3, p2p 26600, API 0.0.0.0:26601 inside each container), `civitas genesis`,
# then one home per validator volume. It is README's "Founding a consortium across machines"
# done in one place, as a demo network is; real members each generate their own keys.
#
# Run from the package root (the image's WORKDIR). Paths:
#   CIVITAS_HOMES  the validators' homes, one folder (volume) per node  (default /homes)
#   CIVITAS_KEYS   the admin keys, genesis.json and network.json       (default /keys)
# With CIVITAS_PASSPHRASE set the key files are encrypted with it (the nodes open theirs with
# the same variable); without, they are written plaintext on purpose: a demo's throwaway keys.
# A home that already holds a genesis is left alone: running it again changes nothing.
set -eu

HOMES=${CIVITAS_HOMES:-/homes}
KEYS=${CIVITAS_KEYS:-/keys}
CHAIN_ID=${CIVITAS_CHAIN_ID:-civitas-compose}
NODES="node0 node1 node2 node3"
# The image's unprivileged user (deploy/Dockerfile) must own the homes it runs from.
OWNER=${CIVITAS_OWNER:-10001:10001}

civitas() { node src/cli/main.ts "$@"; }

for n in $NODES; do
  if [ -e "$HOMES/$n/genesis.json" ]; then
    echo "init-network: $HOMES/$n already holds a genesis; nothing to do"
    exit 0
  fi
done

protect=
if [ -z "${CIVITAS_PASSPHRASE:-}" ]; then
  protect=--plaintext
  echo "init-network: no CIVITAS_PASSPHRASE: key files are plaintext (a demo network)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
mkdir -p "$KEYS"
for n in $NODES; do
  civitas keys generate --out "$work/$n-validator.json" $protect >/dev/null
  civitas keys generate --out "$KEYS/$n-admin.json" $protect >/dev/null
done

# The manifest: every member on its own host (the compose service), the same ports each.
node -e '
  const [work, keys, chainId, ...names] = process.argv.slice(1);
  const pub = (f) => JSON.parse(require("node:fs").readFileSync(f, "utf8")).publicKey;
  const members = names.map((name) => ({
    name,
    validatorKey: pub(`${work}/${name}-validator.json`),
    adminKey: pub(`${keys}/${name}-admin.json`),
    host: name,
    p2pPort: 26600,
    rpcPort: 26601,
    rpcListen: "0.0.0.0:26601",
  }));
  process.stdout.write(JSON.stringify({ chainId, members }, null, 2));
' "$work" "$KEYS" "$CHAIN_ID" $NODES >"$work/members.json"

civitas genesis --members "$work/members.json" --out "$work/net"

for n in $NODES; do
  mkdir -p "$HOMES/$n"
  cp "$work/net/$n/config.json" "$work/net/$n/genesis.json" "$HOMES/$n/"
  cp "$work/$n-validator.json" "$HOMES/$n/validator-key.json"
  chmod 0600 "$HOMES/$n/validator-key.json"
  if [ "$(id -u)" = 0 ]; then chown -R "$OWNER" "$HOMES/$n"; fi
done
cp "$work/net/genesis.json" "$work/net/network.json" "$KEYS/"
echo "init-network: chain $CHAIN_ID, homes in $HOMES/{node0..node3}, admin keys in $KEYS"
