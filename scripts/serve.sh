#!/usr/bin/env bash
# Serve PharmaCRM: the background worker and gunicorn, started together and stopped together (Ctrl-C, or TERM
# to make or to this script); the address is printed once the site answers and the worker has reported in.
set -uo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-${PORT:-8000}}"
export HTTPS="${HTTPS:-false}"   # plain HTTP on loopback for the demo; set HTTPS=true behind TLS

.venv/bin/python manage.py run_huey --quiet &
WORKER=$!
.venv/bin/gunicorn pharmacrm.wsgi:application \
  --bind "127.0.0.1:${PORT}" --workers "${WEB_CONCURRENCY:-3}" --threads 2 \
  --access-logfile - --error-logfile - --log-level warning --graceful-timeout 10 \
  --keep-alive 0 &  # close after each response: a HUP reload then never resets an idle kept-alive connection
WEB=$!

READY=""
stop() {
  trap - INT TERM EXIT
  kill -TERM "$WEB" "$WORKER" $READY 2>/dev/null
  wait "$WEB" "$WORKER" 2>/dev/null
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

.venv/bin/python scripts/wait_ready.py "http://127.0.0.1:${PORT}/healthz" &  # in the background: a signal
READY=$!                                                                       # then interrupts the wait at once
if wait "$READY"; then
  READY=""
  cat <<MSG
→ serving at http://127.0.0.1:${PORT} (stop with Ctrl-C)

  Demo logins (password: pharmacrm-demo)
    admin         系统管理员 (asks to set up a TOTP authenticator on first login)
    rep_east      销售代表, 华东 (Shanghai)
    rep_west      销售代表, 西南 (Chengdu)
    manager_east  华东一组主管 (manages rep_east)
    regional_east 华东大区经理
    steward       客户信息管理员
    compliance    合规
    leader        公司领导
    marketing, finance, legal, key_account, academic_east, pv_officer,
    service_desk, medical, qa (质量保证), dpo (个人信息保护负责人)

MSG
fi
# Whichever of the two ends first (a crash, a signal) takes the other with it.
wait -n "$WEB" "$WORKER"
