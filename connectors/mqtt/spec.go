// Package mqtt is the "mqtt" source and the "mqtt-sink" sink (MQTT 3.1.1, paho.mqtt.golang).
//
// The source subscribes to MQTT topic filters and publishes each MQTT message to a Danube topic. It acks
// the MQTT broker (PUBACK for QoS 1, PUBREC for QoS 2) only after Danube acknowledged the message: with a
// durable session (clean_session = false, a fixed client_id) a message the connector received but did not
// publish is delivered again by the MQTT broker when the connector comes back, so delivery is at least once
// end to end.
//
//	[[connector]]
//	name = "sensors-in"
//	kind = "mqtt"
//	topic = "/iot/sensors"             # the Danube topic
//	reliable = true
//	broker = "tcp://mosquitto:1883"    # tcp://, ssl://, ws:// or wss://
//	topics = ["sensors/+/temperature", "alerts/#"]   # MQTT topic filters
//	qos = 1                            # 0, 1 or 2
//	client_id = "danube-sensors-in"    # default: danube-<name>
//	clean_session = false              # keep the session (and unacked messages) across restarts
//	username = "danube"
//	password_env = "MQTT_PASSWORD"
//	key_from_topic = true              # the record's key is the MQTT topic
//
// Each record carries the attributes mqtt-topic, mqtt-qos (the QoS the message was delivered with) and
// mqtt-retained ("true" or "false").
//
// The sink publishes each Danube message's payload to an MQTT topic (mqtt_topic: fixed, or a Go template over
// the message) and returns from Write only when the MQTT broker confirmed every message (PUBACK for QoS 1,
// PUBCOMP for QoS 2; QoS 0 once written to the connection).
//
//	[[connector]]
//	name = "commands-out"
//	kind = "mqtt-sink"
//	topic = "/iot/commands"            # the Danube topic consumed
//	broker = "tcp://mosquitto:1883"
//	mqtt_topic = 'devices/{{.Key}}/{{index .Attributes "command"}}'
//	qos = 1
//	retain = false
//
// The template sees .Key (the routing key, "" when none), .Topic (the Danube topic), .Attributes (missing
// attributes render as "") and .Producer (the producer's name). A rendered topic that is empty or contains a
// wildcard (+ or #) fails that message as InvalidData, and so does a payload over max_payload_bytes (MQTT
// 3.1.1 has no way to learn the broker's limit; a broker such as mosquitto closes the connection on a packet
// over its max_packet_size, so set max_payload_bytes to the broker's limit). A failed publish, a lost
// connection or a broker that cannot be reached is Retryable; a refused login is a configuration error.
package mqtt

import (
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// Connector kinds.
const (
	// SourceKind is the source's kind.
	SourceKind = "mqtt"
	// SinkKind is the sink's kind.
	SinkKind = "mqtt-sink"
)

// Setting keys.
const (
	keyBroker          = "broker"
	keyTopics          = "topics"
	keyMQTTTopic       = "mqtt_topic"
	keyQoS             = "qos"
	keyRetain          = "retain"
	keyClientID        = "client_id"
	keyUsername        = "username"
	keyPassword        = "password"
	keyCleanSession    = "clean_session"
	keyKeyFromTopic    = "key_from_topic"
	keyKeepAlive       = "keep_alive"
	keyConnectTimeout  = "connect_timeout"
	keyPublishTimeout  = "publish_timeout"
	keyMaxPayloadBytes = "max_payload_bytes"
)

// maxPacketPayload is the largest payload an MQTT 3.1.1 PUBLISH can carry (its remaining length is at most
// 268,435,455 bytes, which also holds the topic and packet id).
const maxPacketPayload = 268435455

// commonFields are the connection settings of both kinds.
func commonFields() []connectors.Field {
	return []connectors.Field{
		{Name: keyBroker, Type: connectors.TypeString, Required: true, Example: `"tcp://127.0.0.1:1883"`,
			Doc: "MQTT broker URL: tcp://host:1883, ssl://host:8883, ws://host/path or wss://host/path."},
		{Name: keyQoS, Type: connectors.TypeInt, Default: int64(1), Min: 0, Max: 2,
			Doc: "MQTT quality of service: 0 at most once, 1 at least once, 2 exactly once (between client and broker)."},
		{Name: keyClientID, Type: connectors.TypeString,
			Doc: "MQTT client identifier (default danube-<connector name>); a durable session is kept under it."},
		{Name: keyUsername, Type: connectors.TypeString, Doc: "User name to log in with."},
		{Name: keyPassword, Type: connectors.TypeString, Secret: true, Doc: "Password to log in with."},
		{Name: keyKeepAlive, Type: connectors.TypeDuration, Default: 30 * time.Second, Min: 1, Max: 65535,
			Doc: "Keep-alive interval: a dead connection is noticed within about 1.5 times this."},
		{Name: keyConnectTimeout, Type: connectors.TypeDuration, Default: 10 * time.Second, Min: 0.001, Max: 600,
			Doc: "Time allowed to connect (and subscribe)."},
	}
}

// SourceSpec returns the settings of the "mqtt" source.
func SourceSpec() connectors.Spec {
	return connectors.Spec{
		Summary: "Subscribes to MQTT topic filters and publishes the messages to Danube, acking MQTT only after Danube acked.",
		Fields: append(commonFields(),
			connectors.Field{Name: keyTopics, Type: connectors.TypeStrings, Required: true, Example: `["sensors/#"]`,
				Doc: "MQTT topic filters to subscribe to, with + and # wildcards, e.g. [\"sensors/+/temp\", \"alerts/#\"]."},
			connectors.Field{Name: keyCleanSession, Type: connectors.TypeBool, Default: false,
				Doc: "Start a new session on each connect; false keeps the session so that unacked messages are redelivered."},
			connectors.Field{Name: keyKeyFromTopic, Type: connectors.TypeBool, Default: true,
				Doc: "Use the MQTT topic as the record's routing key."},
		),
	}
}

// SinkSpec returns the settings of the "mqtt-sink" sink.
func SinkSpec() connectors.Spec {
	return connectors.Spec{
		Summary: "Publishes messages to an MQTT broker, waiting for the broker's acknowledgement.",
		Fields: append(commonFields(),
			connectors.Field{Name: keyMQTTTopic, Type: connectors.TypeString, Required: true, Example: `"danube/orders"`,
				Doc: "MQTT topic to publish to: fixed, or a template such as devices/{{.Key}}/{{index .Attributes \"kind\"}}."},
			connectors.Field{Name: keyRetain, Type: connectors.TypeBool, Default: false,
				Doc: "Publish with the retain flag (the broker keeps the last message of each topic)."},
			connectors.Field{Name: keyPublishTimeout, Type: connectors.TypeDuration, Default: 30 * time.Second, Min: 0.001, Max: 3600,
				Doc: "Longest wait for the broker to acknowledge a batch."},
			connectors.Field{Name: keyMaxPayloadBytes, Type: connectors.TypeInt, Default: int64(maxPacketPayload), Min: 1, Max: maxPacketPayload,
				Doc: "Larger payloads fail as invalid data; set it to the broker's limit (mosquitto: max_packet_size)."},
		),
	}
}

func init() {
	connectors.MustRegisterSource(SourceKind, SourceSpec(), func(cfg connectors.Config, res connectors.Resources) (connectors.Source, error) {
		return NewSource(cfg, res)
	})
	connectors.MustRegisterSink(SinkKind, SinkSpec(), func(cfg connectors.Config, res connectors.Resources) (connectors.Sink, error) {
		return NewSink(cfg, res)
	})
}
