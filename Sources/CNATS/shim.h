// The official NATS C client (Debian libnats-dev): connections, core publish/subscribe and
// JetStream. Only Sources/PeregrineNATS/NATSClient.swift calls it.
#include <nats/nats.h>
