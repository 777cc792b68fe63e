# Evergraph's API / worker image, installed from the project's wheel (as users install
# it), not from the source tree. The example graphs are copied to /app/examples, which
# docker-compose.temporal.yml serves (EVERGRAPH_CONFIG); put your own project in /app.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
COPY --from=wheel /dist/ /dist/
RUN pip install --no-cache-dir /dist/*.whl && rm -rf /dist
WORKDIR /app
COPY examples/ /app/examples/
EXPOSE 2024
CMD ["evergraph", "serve"]
