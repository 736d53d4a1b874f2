FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY counting counting
COPY models models
COPY tasks tasks
COPY worker worker
COPY scheduler scheduler
COPY services services
COPY cli cli
COPY api api
RUN pip install --no-cache-dir .
USER nobody
