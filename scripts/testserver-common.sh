# Helpers shared by scripts/testserver (Prosody) and scripts/ejabberd-testserver; sourced, not run.
# The sourcing script sets `name` (the prefix of its messages), `dir` and `cert`/`key`.

die() { echo "$name: $*" >&2; exit 1; }
note() { echo "$name: $*" >&2; }

# True while the process exists and is not a zombie (PID 1 here may never reap it).
alive() {
    local state
    [ -r "/proc/$1/stat" ] || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Waits up to $2 tenths of a second for process $1 to be gone.
gone_within() {
    local i
    for i in $(seq 1 "$2"); do
        alive "$1" || return 0
        sleep 0.1
    done
    ! alive "$1"
}

# SIGTERM, then SIGKILL after 10 s; returns once the process is gone, or dies.
terminate() {
    local pid=$1 what=$2
    kill -TERM "$pid" 2>/dev/null || true
    gone_within "$pid" 100 && return 0
    note "$what ($pid) ignored SIGTERM for 10 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    gone_within "$pid" 50 || die "could not stop $what ($pid)"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# N distinct ports that are free now, below Linux's ephemeral range so that
# no outgoing connection grabs one while the server is down during `restart`.
pick_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
wanted = int(sys.argv[1])
chosen = []
rng = random.SystemRandom()
for _ in range(500):
    p = rng.randrange(20000, 32000)
    if p in chosen:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    chosen.append(p)
    if len(chosen) == wanted:
        break
if len(chosen) != wanted:
    raise SystemExit(f"could not find {wanted} free ports")
print(*chosen)
PY
}

# Self-signed, no CA: tests trust exactly this certificate.
make_cert() {
    mkdir -p "$(dirname "$cert")"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
        -keyout "$key" -out "$cert" -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,DNS:conference.localhost,DNS:upload.localhost,IP:127.0.0.1" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
        -addext "extendedKeyUsage=serverAuth" \
        >/dev/null 2>"$dir/openssl.err" || { cat "$dir/openssl.err" >&2; die "openssl failed"; }
    rm -f "$dir/openssl.err"
    chmod 0600 "$key"
}

# A certificate that expires within the hour is made again (the port and data stay).
renew_cert_if_expiring() {
    if ! openssl x509 -checkend 3600 -noout -in "$cert" >/dev/null 2>&1; then
        note "certificate expires within the hour: making a new one"
        make_cert
    fi
}

# Escapes a value for the right-hand side of a sed s|||.
sed_rhs() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# Fails when a generated config still holds an @PLACEHOLDER@.
check_placeholders() {
    if grep -q '@[A-Z0-9_]*@' "$1"; then
        die "unreplaced placeholder in $1: $(grep -o '@[A-Z0-9_]*@' "$1" | sort -u | tr '\n' ' ')"
    fi
}

# Quotes a value for a POSIX shell.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# The test accounts both servers have.
users=(alice bob carol dave $(seq -f "test%g" 1 80))
