package broker

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// Limits on what one request may carry, so that no client can make the broker keep (in memory and in its
// store) or work through more than these for one name, message or consumer. The real broker has none of them.
// A request beyond one is refused with InvalidArgument and a message that names the limit, e.g. "topic name is
// 3000000 bytes; the limit is 1024"; clients do not retry InvalidArgument. Lengths are in bytes.
const (
	// MaxTopicNameLength is the longest topic name, "/namespace/topic" with any "-part-N" suffix included.
	// Every rpc that takes a topic name applies it, and ValidateTopicName too.
	MaxTopicNameLength = 1024
	// MaxNameLength is the longest namespace, producer, subscription or consumer name (and a message's
	// producer_name, which is also the KeyShared key of a message without a routing key).
	MaxNameLength = 1024
	// MaxAttributes is how many attributes one message may carry.
	MaxAttributes = 256
	// MaxAttributesSize is the total length of one message's attribute names and values.
	MaxAttributesSize = 64 << 10
	// MaxRoutingKeyLength is the longest routing key of a message.
	MaxRoutingKeyLength = 4096
	// MaxKeyFilters is how many key filters one consumer may give at Subscribe.
	MaxKeyFilters = 32
	// MaxKeyFilterLength is the longest key filter. Matching a key against a filter costs time linear in the
	// key's length, times a factor that grows with the filter's length only for filters with '?' (one machine
	// word per 64 bytes of a '*'-separated part; see keyFilter).
	MaxKeyFilterLength = 256
)

// errTooLong is the answer to a name or key longer than its limit.
func errTooLong(what string, n, limit int) error {
	return status.Errorf(codes.InvalidArgument, "%s is %d bytes; the limit is %d", what, n, limit)
}

// checkTopicName answers an rpc's topic name: InvalidArgument naming the limit when it is too long (without
// echoing it), the real broker's invalid-format answer when it is not /namespace/topic, nil otherwise.
func checkTopicName(name string) error {
	if len(name) > MaxTopicNameLength {
		return errTooLong("topic name", len(name), MaxTopicNameLength)
	}
	if ValidateTopicName(name) != nil {
		return errInvalidTopic(name)
	}
	return nil
}

// checkName applies MaxNameLength to a namespace, producer, subscription or consumer name; what says which.
func checkName(what, name string) error {
	if len(name) > MaxNameLength {
		return errTooLong(what, len(name), MaxNameLength)
	}
	return nil
}

// checkKeyFilters applies MaxKeyFilters and MaxKeyFilterLength to a consumer's key filters.
func checkKeyFilters(filters []string) error {
	if len(filters) > MaxKeyFilters {
		return status.Errorf(codes.InvalidArgument, "%d key filters given; the limit is %d", len(filters), MaxKeyFilters)
	}
	for i, f := range filters {
		if len(f) > MaxKeyFilterLength {
			return errTooLong(fmt.Sprintf("key filter %d", i), len(f), MaxKeyFilterLength)
		}
	}
	return nil
}

// checkMessageLimits applies the per-message limits other than its size: attributes, routing key and
// producer name.
func checkMessageLimits(m *danubepb.StreamMessage) error {
	if n := len(m.Attributes); n > MaxAttributes {
		return status.Errorf(codes.InvalidArgument, "the message has %d attributes; the limit is %d", n, MaxAttributes)
	}
	size := 0
	for k, v := range m.Attributes {
		size += len(k) + len(v)
	}
	if size > MaxAttributesSize {
		return status.Errorf(codes.InvalidArgument, "the message's attribute names and values are %d bytes; the limit is %d",
			size, MaxAttributesSize)
	}
	if m.RoutingKey != nil && len(*m.RoutingKey) > MaxRoutingKeyLength {
		return errTooLong("routing key", len(*m.RoutingKey), MaxRoutingKeyLength)
	}
	return checkName("producer name", m.ProducerName)
}
