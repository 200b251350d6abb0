#!/bin/sh
# Starts one overlay role on this host: from a CORE node's shell, a Mininet host, or any machine.
#
#   scripts/run.sh server --topology FILE --secret F [--movies DIR]      the bootstrapper (each of
#                                                                        them, if FILE lists several)
#   scripts/run.sh server --bootstrapper ADDR --secret F [--movies DIR]  another server
#   scripts/run.sh node   --bootstrapper ADDR --secret F                 a relay
#   scripts/run.sh pop    --bootstrapper ADDR --secret F                 a POP
#   scripts/run.sh client --bootstrapper ADDR --movie NAME               a headless client
#
# Options (each may come from the environment instead):
#   --bootstrapper ADDR[:PORT]  ONODE_BOOTSTRAPPER  the bootstrapper's address, or several
#                                                   comma-separated (ADDR,ADDR: standbys)
#   --secret FILE               ONODE_SECRET        the overlay secret every server, node and POP
#                                                   shares (the variable holds the secret itself);
#                                                   make one with: onode secret --out FILE.
#                                                   Clients hold none: ignored for them
#   --topology FILE             ONODE_TOPOLOGY      topology file: this server is the bootstrapper
#   --movies DIR                ONODE_MOVIES        servers' movies (default: <repo>/movies)
#   --movie NAME                ONODE_MOVIE         the client's movie, e.g. bars.mjpeg
#   --log-dir DIR               ONODE_LOG_DIR       where the log goes (default: /tmp/onode-logs)
#   --name NAME                 ONODE_NAME          names the log, DIR/NAME.log (default: the hostname)
#   --background                                    detach, print the pid, and return at once
#                                                   (for start-up commands that must not block)
#   --tui                                           client only: the interactive player, not headless
# Everything else goes to onode/oclient as is (e.g. --emulate-links, --duration 30 --stats F).
# ONODE_NODE names the node binary (default: node on PATH). ONODE_NODE_FLAGS replaces the Node.js
# options servers, nodes and POPs run with (default below; "" for none).
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
usage() {
  sed -n '2,30s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
die() {
  echo "run.sh: $*" >&2
  exit 2
}

[ $# -ge 1 ] || usage
ROLE=$1
shift
case "$ROLE" in
  server|node|pop|client) ;;
  -h|--help|help) usage ;;
  *) die "unknown role '$ROLE': use server, node, pop or client (run.sh --help)" ;;
esac

BOOTSTRAPPER=${ONODE_BOOTSTRAPPER:-}
TOPOLOGY=${ONODE_TOPOLOGY:-}
MOVIES=${ONODE_MOVIES:-}
MOVIE=${ONODE_MOVIE:-}
LOG_DIR=${ONODE_LOG_DIR:-/tmp/onode-logs}
NAME=${ONODE_NAME:-$(hostname 2>/dev/null || uname -n)}
SECRET=
BACKGROUND=0
TUI=0

# Keep the pass-through arguments in "$@": rotate through them once, consuming ours.
n=$#
while [ "$n" -gt 0 ]; do
  arg=$1
  shift
  n=$((n - 1))
  case "$arg" in
    --bootstrapper|--topology|--movies|--movie|--log-dir|--name|--secret)
      [ "$n" -gt 0 ] || die "$arg needs a value"
      value=$1
      shift
      n=$((n - 1))
      case "$arg" in
        --bootstrapper) BOOTSTRAPPER=$value ;;
        --topology) TOPOLOGY=$value ;;
        --movies) MOVIES=$value ;;
        --movie) MOVIE=$value ;;
        --log-dir) LOG_DIR=$value ;;
        --name) NAME=$value ;;
        --secret) SECRET=$value ;;
      esac
      ;;
    --background) BACKGROUND=1 ;;
    --tui) TUI=1 ;;
    *) set -- "$@" "$arg" ;;
  esac
done

NODE=${ONODE_NODE:-$(command -v node || true)}
# The daemons' Node.js options: the list of onode/net/daemon-flags.ts (a test keeps them equal).
# NODE_FLAGS is expanded unquoted below: it may hold several options, split at spaces.
DAEMON_FLAGS="--max-semi-space-size=1"
NODE_FLAGS=${ONODE_NODE_FLAGS-$DAEMON_FLAGS}
[ "$ROLE" = client ] && NODE_FLAGS=
[ -n "$NODE" ] || die "no 'node' on PATH (Node.js 20 or later); install it or set ONODE_NODE=/path/to/node"
[ -f "$ROOT/dist/onode/cli/main.js" ] || die "$ROOT/dist is missing: run 'npm ci' (or 'npm run build') in $ROOT first"

case "$ROLE" in
  server)
    [ -z "$MOVIES" ] && [ -d "$ROOT/movies" ] && MOVIES=$ROOT/movies
    if [ -n "$TOPOLOGY" ]; then
      [ -f "$TOPOLOGY" ] || die "topology file '$TOPOLOGY' not found"
      set -- server --topology "$TOPOLOGY" "$@"
    elif [ -n "$BOOTSTRAPPER" ]; then
      set -- server --bootstrapper "$BOOTSTRAPPER" "$@"
    else
      die "server needs --topology FILE (to be the bootstrapper) or --bootstrapper ADDR (or ONODE_TOPOLOGY / ONODE_BOOTSTRAPPER)"
    fi
    [ -n "$MOVIES" ] && set -- "$@" --movies "$MOVIES"
    ENTRY=$ROOT/dist/onode/cli/main.js
    ;;
  node|pop)
    [ -n "$BOOTSTRAPPER" ] || die "$ROLE needs --bootstrapper ADDR (or ONODE_BOOTSTRAPPER), e.g. --bootstrapper 10.0.25.10"
    set -- "$ROLE" --bootstrapper "$BOOTSTRAPPER" "$@"
    ENTRY=$ROOT/dist/onode/cli/main.js
    ;;
  client)
    [ -n "$BOOTSTRAPPER" ] || die "client needs --bootstrapper ADDR (or ONODE_BOOTSTRAPPER), e.g. --bootstrapper 10.0.25.10"
    [ -n "$MOVIE" ] || die "client needs --movie NAME (or ONODE_MOVIE), e.g. --movie bars.mjpeg"
    if [ "$TUI" = 1 ]; then
      set -- --bootstrapper "$BOOTSTRAPPER" --movie "$MOVIE" "$@"
    else
      set -- --bootstrapper "$BOOTSTRAPPER" --movie "$MOVIE" --headless "$@"
    fi
    ENTRY=$ROOT/dist/oclient/cli/main.js
    ;;
esac
if [ "$ROLE" != client ]; then
  if [ -n "$SECRET" ]; then
    # Checked here too: with --background, onode's own message would only reach the log.
    [ -r "$SECRET" ] || die "cannot read the secret file '$SECRET' (make one with: onode secret --out FILE)"
    set -- "$@" --secret "$SECRET"
  elif [ -z "${ONODE_SECRET:-}" ]; then
    die "$ROLE needs the overlay secret: --secret FILE (or ONODE_SECRET);" \
      "every server, node and POP must have the same one"
  fi
fi

# The interactive player owns the terminal; everything else logs to a file.
if [ "$TUI" = 1 ]; then
  exec "$NODE" "$ENTRY" "$@"
fi
mkdir -p "$LOG_DIR" || die "cannot create the log directory '$LOG_DIR'"
LOG=$LOG_DIR/$NAME.log
echo "$(date '+%F %T') run.sh $ROLE: $NODE ${NODE_FLAGS:+$NODE_FLAGS }$ENTRY $*" >>"$LOG"
if [ "$BACKGROUND" = 1 ]; then
  nohup "$NODE" $NODE_FLAGS "$ENTRY" "$@" </dev/null >>"$LOG" 2>&1 &
  echo "onode $ROLE started (pid $!), log $LOG"
  exit 0
fi
echo "onode $ROLE: log $LOG" >&2
exec "$NODE" $NODE_FLAGS "$ENTRY" "$@" >>"$LOG" 2>&1
