# dmgmt developer recipes (https://github.com/casey/just): `just --list`

# Validate every environment (offline, no credentials).
default: validate

# The main job on the local environment.
local:
    cargo run -- validate -e local

validate:
    cargo run -- validate --all

# The README's test command.
test:
    cargo test --locked

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --locked --all-targets -- -D warnings

# What CI runs.
ci:
    bash .ci/run

install:
    cargo install --locked --path .
