# syntax=docker/dockerfile:1.7
# check=error=true

ARG GO_VERSION=1.22
ARG ALPINE_VERSION=3.19

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine${ALPINE_VERSION} AS base
WORKDIR /src
ENV CGO_ENABLED=0 \
    GOFLAGS="-trimpath -mod=readonly"
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download -x

FROM base AS build
ARG TARGETOS TARGETARCH
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/app ./cmd/app

FROM base AS test
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,target=. \
    go test -race ./... # comment text stays

FROM alpine:${ALPINE_VERSION} AS runtime
LABEL org.opencontainers.image.title="app" \
      org.opencontainers.image.source="https://example.com/app"
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S app \
 && adduser -S -G app -h /home/app app
COPY --from=build --chown=app:app --chmod=0755 /out/app /usr/local/bin/app
COPY <<EOF /etc/app/config.yaml
listen: ":8080"
log_level: info
EOF
USER app:app
WORKDIR /home/app
EXPOSE 8080/tcp
VOLUME ["/home/app/data"]
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD ["/usr/local/bin/app", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve", "--addr", ":8080"]
