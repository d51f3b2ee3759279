#!/usr/bin/env bash
# make demo: the stack is up (make services); seed it, run every workflow once, serve the UI.
# Safe to run again: the seed only happens on an empty database, and each DAG run is new.
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/env.sh

step() { printf '\n==> %s\n' "$*"; }

step "Airflow metadata database"
airflow db migrate > .local/logs/airflow-db-migrate.log 2>&1 || { tail -40 .local/logs/airflow-db-migrate.log; exit 1; }

step "Demo data"
users=$(psql "$APP_DB_URL" -Atc "SELECT count(*) FROM app.users")
if [ "$users" = "0" ]; then
  python scripts/seed.py --scale "${SCALE:-1000}" --inject "${INJECT:-overdue,prohibited_media}"
else
  echo "app.users already holds $users rows; keeping them (make seed SCALE=N reseeds)"
fi

# The people of the demo's data-subject requests: two live accounts under no legal hold, chosen
# once and remembered, so that a second demo finds the same requests done (and does them once).
dsr_subjects=.local/demo-dsr-subjects
if [ ! -s "$dsr_subjects" ]; then
  psql "$APP_DB_URL" -Atc "SELECT min(user_id), max(user_id) FROM app.users AS u WHERE deleted_at IS NULL
    AND NOT EXISTS (SELECT FROM governance.legal_holds AS h WHERE h.user_id = u.user_id AND h.released_at IS NULL)" \
    > "$dsr_subjects"
fi
IFS='|' read -r erasure_subject export_subject < "$dsr_subjects"

# Per-DAG run configuration for the demo; unlisted DAGs run with their defaults.
demo_conf() {
  case "$1" in
    retention_purge|moderation_log_archival) echo '{"dry_run": false}' ;;
    dsr_export) echo "{\"request_id\": \"DEMO-EXPORT-1\", \"user_id\": $export_subject}" ;;
    dsr_erasure) echo "{\"request_id\": \"DEMO-ERASURE-1\", \"user_id\": $erasure_subject}" ;;
    *) echo '{}' ;;
  esac
}

step "Running each governance workflow once (airflow dags test)"
# Every DAG file (dag_id = file name), in the order of a night: the purge and the archival, then
# the data-quality checks of what they left, then the rest; the ledger check goes last, to verify
# what the others wrote. data_quality_remediation is manual: it takes the ids of findings, and a
# demo whose checks pass has none.
first="retention_purge moderation_log_archival data_quality_checks"
last="audit_ledger_verification"
manual="data_quality_remediation"
dag_ids="$first $(for f in dags/*.py; do basename "$f" .py; done | grep -vxF -f <(printf '%s\n' $first $last $manual)) $last"
echo "  (skipped $manual: it remediates findings by id; see its DAG docs)"
failed=()
for dag_id in $dag_ids; do
  log=".local/logs/demo-${dag_id}.log"
  if airflow dags test "$dag_id" -c "$(demo_conf "$dag_id")" > "$log" 2>&1; then
    echo "  ok      $dag_id   (log: $log)"
  else
    echo "  FAILED  $dag_id   (log: $log)"; failed+=("$dag_id")
  fi
done

step "Evidence"
psql "$APP_DB_URL" -c "SELECT workflow, report_type, object_key FROM governance.report_index ORDER BY report_id DESC LIMIT 6"
psql "$APP_DB_URL" -c "SELECT seq, workflow, action, rule, counts FROM governance.audit_ledger ORDER BY seq DESC LIMIT 8"

step "Airflow UI"
python scripts/local_airflow.py

if [ ${#failed[@]} -gt 0 ]; then
  echo "These workflows failed in the demo: ${failed[*]}" >&2
  exit 1
fi
