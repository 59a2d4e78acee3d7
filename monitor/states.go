package monitor

import (
	"fmt"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
)

// The states below cross from the monitor to the screen. Each is a small integer type whose zero value is
// "unknown" (it prints as ""), so that a data source that cannot tell a state leaves it at zero, and whose
// String gives the word the console shows.

// enumString returns names[v], or "<Type>(v)" for a value without a name.
func enumString(typ string, names []string, v int) string {
	if v >= 0 && v < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, v)
}

// ProducerState is the life-cycle state of a producer.
type ProducerState uint8

// Producer states.
const (
	ProducerUnknown ProducerState = iota
	ProducerCreated
	ProducerRecreated // created again after its connection or topic moved
	ProducerClosed
	ProducerFailed // gave up: LastError says why
)

var producerStates = []string{"", "created", "recreated", "closed", "failed"}

// String returns "", "created", "recreated", "closed" or "failed".
func (s ProducerState) String() string { return enumString("ProducerState", producerStates, int(s)) }

// producerStateOf maps a client producer event to the state it leaves the producer in.
func producerStateOf(k client.ProducerEventKind) ProducerState {
	switch k {
	case client.ProducerCreated:
		return ProducerCreated
	case client.ProducerRecreated:
		return ProducerRecreated
	case client.ProducerClosed:
		return ProducerClosed
	case client.ProducerFailed:
		return ProducerFailed
	}
	return ProducerUnknown
}

// ConsumerState is the life-cycle state of a consumer (a connector's, a tap's, or another program's) on one
// topic or partition.
type ConsumerState uint8

// Consumer states.
const (
	ConsumerUnknown ConsumerState = iota
	ConsumerSubscribed
	ConsumerResubscribed
	ConsumerStreamEnded // the message stream ended; the client is subscribing again
	ConsumerClosed
	ConsumerFailed // gave up: LastError says why
)

var consumerStates = []string{"", "subscribed", "resubscribed", "stream-ended", "closed", "failed"}

// String returns "", "subscribed", "resubscribed", "stream-ended", "closed" or "failed".
func (s ConsumerState) String() string { return enumString("ConsumerState", consumerStates, int(s)) }

// Live reports whether the state is one of a consumer still subscribed (or subscribing again).
func (s ConsumerState) Live() bool {
	return s == ConsumerSubscribed || s == ConsumerResubscribed || s == ConsumerStreamEnded
}

// consumerStateOf maps a client consumer event to the state it leaves the consumer in.
func consumerStateOf(k client.ConsumerEventKind) ConsumerState {
	switch k {
	case client.ConsumerSubscribed:
		return ConsumerSubscribed
	case client.ConsumerResubscribed:
		return ConsumerResubscribed
	case client.ConsumerStreamEnded:
		return ConsumerStreamEnded
	case client.ConsumerClosed:
		return ConsumerClosed
	case client.ConsumerFailed:
		return ConsumerFailed
	}
	return ConsumerUnknown
}

// ConnState is the state of a connection to a broker address.
type ConnState uint8

// Connection states.
const (
	ConnUnknown ConnState = iota
	ConnIdle
	ConnConnecting
	ConnReady
	ConnTransientFailure
	ConnShutdown
)

var connStates = []string{"", "idle", "connecting", "ready", "transient-failure", "shutdown"}

// String returns "", "idle", "connecting", "ready", "transient-failure" or "shutdown".
func (s ConnState) String() string { return enumString("ConnState", connStates, int(s)) }

// connStateOf maps a client connection state.
func connStateOf(s client.ConnState) ConnState {
	switch s {
	case client.ConnIdle:
		return ConnIdle
	case client.ConnConnecting:
		return ConnConnecting
	case client.ConnReady:
		return ConnReady
	case client.ConnTransientFailure:
		return ConnTransientFailure
	case client.ConnShutdown:
		return ConnShutdown
	}
	return ConnUnknown
}

// HealthStatus is the answer of a producer's or consumer's last health check.
type HealthStatus uint8

// Health statuses.
const (
	HealthUnknown HealthStatus = iota // no check yet
	HealthOK
	HealthClose   // the broker said the producer or consumer is gone
	HealthError   // the check failed: HealthStats.Err says why
	HealthStopped // the producer or consumer was closed (or failed): it is no longer checked
)

var healthStatuses = []string{"", "OK", "CLOSE", "error", "stopped"}

// String returns "", "OK", "CLOSE", "error" or "stopped".
func (s HealthStatus) String() string { return enumString("HealthStatus", healthStatuses, int(s)) }

// healthStatusOf maps a client health status.
func healthStatusOf(s client.HealthStatus) HealthStatus {
	switch s {
	case client.HealthOK:
		return HealthOK
	case client.HealthClose:
		return HealthClose
	case client.HealthError:
		return HealthError
	}
	return HealthUnknown
}

// MessageState is where a message of a manual-ack consumer (a tap with ConsumerSpec.ManualAck) stands.
type MessageState uint8

// Message states of manual-ack consumers; messages of other consumers are StateNone.
const (
	StateNone MessageState = iota
	StatePending
	StateAcked
	StateNacked
	// StateExpired: the broker delivered the message again (its ack timeout passed) before it was settled;
	// the newer delivery, a later entry with the same Offset, is the one pending.
	StateExpired
)

var messageStates = []string{"", "pending", "acked", "nacked", "expired"}

// String returns "", "pending", "acked", "nacked" or "expired".
func (s MessageState) String() string { return enumString("MessageState", messageStates, int(s)) }

// SubscriptionType says how a subscription shares its messages among its consumers. Its zero value,
// SubscriptionUnknown, is a type the monitor was not told; the others are client.SubscriptionType's.
type SubscriptionType uint8

// Subscription types.
const (
	SubscriptionUnknown SubscriptionType = iota
	SubscriptionExclusive
	SubscriptionShared
	SubscriptionFailover
	SubscriptionKeyShared
)

// String returns "" for SubscriptionUnknown, else the type's name as client.ParseSubscriptionType reads it:
// "exclusive", "shared", "failover", "key-shared".
func (t SubscriptionType) String() string {
	if t == SubscriptionUnknown {
		return ""
	}
	ct, ok := t.Client()
	if !ok {
		return fmt.Sprintf("SubscriptionType(%d)", int(t))
	}
	b, _ := ct.MarshalText() // every client type has a name
	return string(b)
}

// Client returns the client's subscription type; false for SubscriptionUnknown and values out of range.
func (t SubscriptionType) Client() (client.SubscriptionType, bool) {
	switch t {
	case SubscriptionExclusive:
		return client.Exclusive, true
	case SubscriptionShared:
		return client.Shared, true
	case SubscriptionFailover:
		return client.Failover, true
	case SubscriptionKeyShared:
		return client.KeyShared, true
	}
	return client.Shared, false
}

// SubscriptionTypeOf returns the monitor's value of a client subscription type (SubscriptionUnknown for a
// value the client does not define).
func SubscriptionTypeOf(t client.SubscriptionType) SubscriptionType {
	switch t {
	case client.Exclusive:
		return SubscriptionExclusive
	case client.Shared:
		return SubscriptionShared
	case client.Failover:
		return SubscriptionFailover
	case client.KeyShared:
		return SubscriptionKeyShared
	}
	return SubscriptionUnknown
}

// ParseSubscriptionType reads a subscription type name as client.ParseSubscriptionType does; its errors
// wrap client.ErrUnknownSubscriptionType.
func ParseSubscriptionType(s string) (SubscriptionType, error) {
	t, err := client.ParseSubscriptionType(s)
	if err != nil {
		return SubscriptionUnknown, err
	}
	return SubscriptionTypeOf(t), nil
}

// SubscriptionTypeNames returns the names ParseSubscriptionType accepts, as String writes them.
func SubscriptionTypeNames() []string { return client.SubscriptionTypeNames() }

// The connector runtime's own types pass through the monitor unchanged; these aliases let the console name
// them without importing the connectors package.
type (
	// ConnectorStatus is a connector instance's status (connectors.InstanceStatus).
	ConnectorStatus = connectors.InstanceStatus
	// ConnectorState is a connector instance's state (connectors.State).
	ConnectorState = connectors.State
	// ConnectorRole says whether a connector is a source or a sink (connectors.Role).
	ConnectorRole = connectors.Role
	// ErrorKind classifies a connector's errors (connectors.Kind).
	ErrorKind = connectors.Kind
	// ConnectorSetting is one of a connector's settings as the console shows it (connectors.Setting).
	ConnectorSetting = connectors.Setting
	// ConnectorTopicStatus breaks a source's counters down by topic (connectors.TopicStatus).
	ConnectorTopicStatus = connectors.TopicStatus
	// RecoveryReport is one repair the broker made to its data directory (client.RecoveryReport).
	RecoveryReport = client.RecoveryReport
	// StoreRecovery is what the broker repaired when it started (client.StoreRecovery).
	StoreRecovery = client.StoreRecovery
)

// Connector states, roles and error kinds, as the connectors package defines them.
const (
	ConnectorStopped   = connectors.StateStopped
	ConnectorStarting  = connectors.StateStarting
	ConnectorRunning   = connectors.StateRunning
	ConnectorDegraded  = connectors.StateDegraded
	ConnectorStopping  = connectors.StateStopping
	ConnectorFailed    = connectors.StateFailed
	ConnectorCompleted = connectors.StateCompleted

	RoleSource = connectors.RoleSource
	RoleSink   = connectors.RoleSink

	KindRetryable   = connectors.KindRetryable
	KindInvalidData = connectors.KindInvalidData
	KindConfig      = connectors.KindConfig
	KindFatal       = connectors.KindFatal
)

// ErrTopicNotFound is the client's error for a topic that does not exist (client.ErrTopicNotFound), for
// errors.Is on the errors of Lookup, StartConsumer and the other actions.
var ErrTopicNotFound = client.ErrTopicNotFound
