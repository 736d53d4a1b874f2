FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
# every package pyproject.toml installs (tests/test_compose.py checks the two lists agree)
COPY config config
COPY counting counting
COPY models models
COPY tasks tasks
COPY worker worker
COPY scheduler scheduler
COPY services services
COPY cli cli
COPY api api
COPY cvr cvr
COPY report report
RUN pip install --no-cache-dir .
USER nobody
