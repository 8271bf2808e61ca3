# SCALES-SR service image: scales-server (gRPC on 50051, REST and the web page on 8080, Prometheus
# metrics on 9090) with the bundled models in /models, and scales-upscale (the CLI, also the
# HEALTHCHECK).
#
#   podman build -t scales-sr .            (or docker build; deploy/test-image.sh builds and runs it)
#   docker run -p 50051:50051 -p 8080:8080 -p 9090:9090 scales-sr    (then open http://localhost:8080/)
#
# Two stages: the build stage has the compilers and -dev packages; the runtime stage gets only the
# Debian packages that own the shared libraries the two binaries load (listed by the build stage
# from ldd, so the list cannot drift from the code).
ARG BASE=docker.io/library/debian:bookworm

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config libdnnl-dev nlohmann-json3-dev libvips-dev libcli11-dev \
      libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev prometheus-cpp-dev libcpp-httplib-dev \
 && if [ "$(dpkg --print-architecture)" = arm64 ]; then \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas-openmp-dev; fi \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY engine engine
COPY imageio imageio
COPY proto proto
COPY server server
COPY client client
# No -march: the binary kernels are chosen at run time (AVX-512, AVX2 or portable), so the image
# runs on any x86-64 node and still uses the widest kernel that node has. Built on arm64, the
# engine also links OpenBLAS for its FP convs (installed above; docs/engine.md).
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DSCALES_BUILD_BENCH=OFF -DSCALES_BUILD_LATENCY=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /opt/scales --strip
RUN for bin in /opt/scales/bin/*; do ldd "$bin"; done \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u \
    | while read -r lib; do dpkg -S "*/$(basename "$lib")"; done \
    | cut -d: -f1 | sort -u > /opt/scales/runtime-packages \
 && cat /opt/scales/runtime-packages

FROM ${BASE}
# A slim runtime: no documentation, manuals or translations from the packages installed below.
RUN printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-exclude=/usr/share/man/*' \
      'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/info/*' > /etc/dpkg/dpkg.cfg.d/slim
COPY --from=build /opt/scales/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin scales
COPY --from=build /opt/scales/bin/ /usr/local/bin/
COPY models/weights/ /models/
USER 10001:10001
ENV SCALES_LISTEN=0.0.0.0:50051 \
    SCALES_HTTP_LISTEN=0.0.0.0:8080 \
    SCALES_METRICS_LISTEN=0.0.0.0:9090 \
    SCALES_MODELS=/models
EXPOSE 50051 8080 9090
# The gRPC health service answers SERVING once the models are loaded.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["scales-upscale", "health", "--server", "127.0.0.1:50051", "--timeout", "4"]
ENTRYPOINT ["scales-server"]
