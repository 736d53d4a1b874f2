#!/bin/sh
# The stack's first start (compose service `secrets`): one file per password in the `secrets` volume,
# so `docker compose up` works from a fresh clone and no password is written in compose.yaml or the code.
# A password set in .env is used as given; any other is 32 random bytes in hex (safe inside a URL).
# A file that exists is never rewritten: PostgreSQL and RabbitMQ keep the password of their first start.
# Read one back with `docker compose exec flower cat /run/tally-secrets/flower`.
set -eu
dir=/run/tally-secrets
umask 0222  # readable by the stack's containers (their users differ), writable by none
for pair in postgres:POSTGRES_PASSWORD owner:TALLY_OWNER_PASSWORD app:TALLY_APP_PASSWORD \
            rabbitmq:RABBITMQ_PASSWORD flower:FLOWER_PASSWORD; do
  name=${pair%%:*}
  var=${pair#*:}
  [ -s "$dir/$name" ] && continue
  eval "given=\${$var:-}"
  if [ -z "$given" ]; then
    given=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  fi
  printf '%s' "$given" > "$dir/.$name"
  mv "$dir/.$name" "$dir/$name"
done
