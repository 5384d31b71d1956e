# gpuplane's image: the scheduler (`gpuplane scheduler`) and the node agent (`gpuplane
# node-agent`) both run from it; deploy/ sets the command's arguments.
#   docker build -t gpuplane:0.1.0 .

# Stage 1: build the wheel (hatchling) from the source tree.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m build --wheel --outdir /dist

# Stage 2: the wheel and its dependencies in a fresh slim image, nothing of the build left.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # matplotlib (reports) wants a writable config dir; the root filesystem is read-only.
    MPLCONFIGDIR=/tmp/matplotlib
COPY --from=build /dist/*.whl /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels \
    && groupadd --system --gid 65532 gpuplane \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin gpuplane
# Non-root by default (the scheduler); the node agent's DaemonSet runs it as root on purpose,
# for the kubelet's root-only directories (see deploy/node-agent.yaml).
USER 65532:65532
ENTRYPOINT ["gpuplane"]
CMD ["--help"]
