# One image for every Learnstream service (ingest, collector, projector, API, migrations);
# compose.yaml picks the command. Kafka and PostgreSQL come from their own images there.
FROM python:3.11.14-slim-bookworm
WORKDIR /srv/learnstream
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md requirements.lock ./
COPY learnstream ./learnstream
COPY ingest ./ingest
COPY collector ./collector
COPY projections ./projections
COPY learner_model ./learner_model
COPY warehouse ./warehouse
COPY simulator ./simulator
COPY devstack ./devstack
COPY app ./app
COPY testing ./testing
COPY migrations ./migrations
RUN pip install --no-cache-dir -c requirements.lock .
USER nobody
ENTRYPOINT ["learnstream"]
