# Optional (compose profile `s3`): a local S3-compatible server for trying the S3 sink, s3rver
# from npm. It ignores conditional writes (If-None-Match: *), so the collector's one-writer lease
# cannot work against it: the profile sets S3_ALLOW_WITHOUT_CONDITIONAL_WRITES=true. For a server
# that honours them, point S3_ENDPOINT at AWS S3, MinIO or Ceph radosgw (docs/s3.md).
FROM node:24.21.0-bookworm-slim
WORKDIR /srv
RUN npm install --no-save --no-package-lock --ignore-scripts --omit=dev s3rver@3.7.1 \
 && mkdir -p /buckets && chown node:node /buckets
USER node
EXPOSE 4568
# s3rver's built-in account: access key S3RVER, secret S3RVER.
ENTRYPOINT ["node", "node_modules/s3rver/bin/s3rver.js", "--directory", "/buckets", "--address", "0.0.0.0", "--port", "4568", "--no-vhost-buckets", "--configure-bucket", "movies"]
