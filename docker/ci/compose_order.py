#!/usr/bin/env python3
"""Reads a resolved compose file (`podman-compose config`) on stdin and prints its services
in the order their `depends_on` conditions start them, one per line:

    SERVICE CONDITION

CONDITION is what the services depending on SERVICE wait for: `healthy`, `completed` (exited
0) or `started`; the strictest one when several depend on it. docker/ci-check.sh starts the
services one at a time in this order and waits for each condition itself, because podman
4.3 runs no healthcheck timers without systemd and podman-compose ignores `service_healthy`
before podman 4.6. Reading the order from the file (rather than writing it into the script)
makes CI fail when a `depends_on` is missing or names the wrong condition: a service started
too early finds what it needs absent.
"""

import sys

import yaml

CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}
STRICTNESS = ["started", "completed", "healthy"]


def dependencies(service):
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return {name: "started" for name in depends_on}
    return {
        name: CONDITIONS[(spec or {}).get("condition", "service_started")]
        for name, spec in depends_on.items()
    }


def main():
    services = yaml.safe_load(sys.stdin)["services"]
    deps = {name: dependencies(service) for name, service in services.items()}
    waited_for = {name: "started" for name in services}
    for needs in deps.values():
        for name, condition in needs.items():
            if name not in services:
                sys.exit(f"depends_on names an unknown service: {name}")
            if STRICTNESS.index(condition) > STRICTNESS.index(waited_for[name]):
                waited_for[name] = condition
    for name, condition in waited_for.items():
        if condition == "healthy" and "healthcheck" not in services[name]:
            sys.exit(f"{name} is waited for as healthy but has no healthcheck")

    order, placed = [], set()
    while len(order) < len(services):
        ready = sorted(n for n in services if n not in placed and placed >= set(deps[n]))
        if not ready:
            sys.exit(f"depends_on has a cycle among {sorted(set(services) - placed)}")
        for name in ready:
            order.append(name)
            placed.add(name)
    for name in order:
        print(name, waited_for[name])


if __name__ == "__main__":
    main()
