# CI only: local stand-ins for the third-party images docker/compose.yaml names (postgres,
# redis, nginx), because CI cannot pull images. Built from Debian's own packages on the base
# CI makes with debootstrap, each answers the compose file the way the official image does
# (same paths, commands, environment and healthcheck tools), so CI exercises the real
# compose.yaml unchanged.
ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS services
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 redis-server nginx \
    && rm -rf /var/lib/apt/lists/*

FROM services AS postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["postgres-entrypoint.sh"]

FROM services AS redis
# The official image builds Redis with protected mode off (it is reached over the container
# network, without a password); Debian's keeps it on, so the stand-in turns it off.
RUN printf '#!/bin/sh\nexec /usr/bin/redis-server "$@" --protected-mode no\n' > /usr/local/bin/redis-server \
    && chmod +x /usr/local/bin/redis-server
CMD ["redis-server"]

FROM services AS nginx
CMD ["nginx", "-g", "daemon off;"]
