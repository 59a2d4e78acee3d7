package broker

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	// ErrInvalidOptions is returned by New when an Options field cannot be used.
	ErrInvalidOptions = errors.New("broker: invalid options")
	// ErrInvalidPolicy is returned when a failure policy cannot be applied.
	ErrInvalidPolicy = errors.New("broker: invalid failure policy")
	// ErrInvalidTopicName is returned for a topic name that is not /namespace/topic.
	ErrInvalidTopicName = errors.New("broker: invalid topic name")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("broker: already started")
	// ErrShutdown is returned by Start after Shutdown.
	ErrShutdown = errors.New("broker: shut down")
	// ErrListen wraps the listener error when Start cannot bind the client port; errors.Is(err,
	// syscall.EADDRINUSE) tells a busy port apart.
	ErrListen = errors.New("broker: cannot listen on the client port")
	// ErrAdminListen is ErrListen for the admin port.
	ErrAdminListen = errors.New("broker: cannot listen on the admin port")
	// ErrMetricsListen is ErrListen for the metrics address.
	ErrMetricsListen = errors.New("broker: cannot listen on the metrics address")
)

// The gRPC status errors below carry the real Danube broker's codes and texts, which clients act on.

func errInvalidTopic(topic string) error {
	return status.Errorf(codes.InvalidArgument,
		"The topic: %s has an invalid format, should be: /namespace_name/topic_name", topic)
}

func errTopicNotFound(topic string) error {
	return status.Errorf(codes.NotFound, "Unable to find the topic: %s", topic)
}

func errLookupNotFound(topic string) error {
	return status.Errorf(codes.NotFound, "Unable to find the requested topic: %s", topic)
}

func errNamespaceMissing(ns string) error {
	// "exisiting" is the real broker's spelling; clients and users may match on it.
	return status.Errorf(codes.Unavailable,
		"Unable to find the namespace %s, the topic can be created only for an exisiting namespace", ns)
}

func errProducerNotFound(id uint64) error {
	return status.Errorf(codes.NotFound, "The producer with id %d does not exist", id)
}

func errConsumerNotFound(id uint64) error {
	return status.Errorf(codes.NotFound, "The consumer with the id %d does not exist", id)
}

func errPublish(format string, args ...any) error {
	return status.Errorf(codes.PermissionDenied, "Unable to publish the message: %s", fmt.Sprintf(format, args...))
}

func errSubscribe(topic, format string, args ...any) error {
	return status.Errorf(codes.PermissionDenied, "Not able to subscribe to the topic %s due to %s", topic,
		fmt.Sprintf(format, args...))
}

// errStreamEnded ends a ReceiveMessages stream the broker closes itself (takeover, a newer stream, shutdown).
// Unavailable makes the official clients reconnect; a clean end of stream would stop a Go consumer for good.
func errStreamEnded(why string) error {
	return status.Errorf(codes.Unavailable, "The consumer stream was closed by the broker: %s", why)
}
