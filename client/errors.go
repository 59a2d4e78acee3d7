package client

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors. Errors returned by the client match them with errors.Is; the broker's own answer is kept
// in an *APIError (errors.As) with its gRPC code and text.
var (
	// ErrClosed: the client, producer or consumer was closed.
	ErrClosed = errors.New("danube: closed")
	// ErrInvalidURL: the service URL cannot be used.
	ErrInvalidURL = errors.New("danube: invalid service URL")
	// ErrInvalidConfig: a producer, consumer or option value cannot be used.
	ErrInvalidConfig = errors.New("danube: invalid configuration")
	// ErrTopicNotFound: the topic does not exist (consumers never create topics).
	ErrTopicNotFound = errors.New("danube: topic not found")
	// ErrInvalidTopic: the topic name is not /namespace/topic.
	ErrInvalidTopic = errors.New("danube: invalid topic name")
	// ErrNamespaceNotFound: a producer tried to create a topic in a namespace that does not exist.
	ErrNamespaceNotFound = errors.New("danube: namespace not found")
	// ErrNoPartitions: a topic has no partitions (nothing matches its name).
	ErrNoPartitions = errors.New("danube: no partitions found")
	// ErrProducerNotFound: the broker does not know the producer (e.g. it restarted without its state).
	ErrProducerNotFound = errors.New("danube: producer not found")
	// ErrConsumerNotFound: the broker does not know the consumer.
	ErrConsumerNotFound = errors.New("danube: consumer not found")
	// ErrSubscriptionTaken: an Exclusive subscription is held by another consumer.
	ErrSubscriptionTaken = errors.New("danube: exclusive subscription taken")
	// ErrUnauthenticated: the broker wants a valid bearer token.
	ErrUnauthenticated = errors.New("danube: unauthenticated")
	// ErrPermissionDenied: the broker refused the operation.
	ErrPermissionDenied = errors.New("danube: permission denied")
	// ErrMessageTooLarge: the message exceeds the broker's (or the client's) size limit.
	ErrMessageTooLarge = errors.New("danube: message too large")
	// ErrDispatchMismatch: the producer's dispatch strategy differs from the topic's.
	ErrDispatchMismatch = errors.New("danube: dispatch strategy does not match the topic")
	// ErrSchema: a schema subject, version or validation problem.
	ErrSchema = errors.New("danube: schema mismatch")
	// ErrAlreadyExists: the broker refused to create something that exists (e.g. a partitioned topic's name).
	ErrAlreadyExists = errors.New("danube: already exists")
	// ErrUnavailable: the broker could not be reached or asked to retry, and the retries ran out.
	ErrUnavailable = errors.New("danube: broker unavailable")
	// ErrLookupFailed: the broker answered a lookup with Failed.
	ErrLookupFailed = errors.New("danube: topic lookup failed")
)

// APIError is a broker's answer to a call: the gRPC code and the message. It matches the sentinels above
// with errors.Is according to the code and the real broker's texts.
type APIError struct {
	Code    codes.Code
	Message string
}

// Error implements error: the broker's message and, in brackets, the code.
func (e *APIError) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

// GRPCStatus lets status.Code and status.FromError see the broker's answer.
func (e *APIError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// Is matches the sentinel errors.
func (e *APIError) Is(target error) bool {
	m := e.Message
	switch target {
	case ErrTopicNotFound:
		return e.Code == codes.NotFound && (strings.Contains(m, "find the topic") || strings.Contains(m, "find the requested topic") ||
			strings.Contains(m, "not found in registry"))
	case ErrInvalidTopic:
		return e.Code == codes.InvalidArgument && strings.Contains(m, "invalid format")
	case ErrNamespaceNotFound:
		return strings.Contains(m, "Unable to find the namespace")
	case ErrProducerNotFound:
		return e.Code == codes.NotFound && strings.Contains(m, "The producer with id")
	case ErrConsumerNotFound:
		return e.Code == codes.NotFound && strings.Contains(m, "The consumer with the id")
	case ErrSubscriptionTaken:
		return e.Code == codes.PermissionDenied && strings.Contains(m, "Exclusive subscription")
	case ErrUnauthenticated:
		return e.Code == codes.Unauthenticated
	case ErrPermissionDenied:
		return e.Code == codes.PermissionDenied
	case ErrMessageTooLarge:
		return (e.Code == codes.InvalidArgument && strings.Contains(m, "exceeds maximum allowed")) ||
			(e.Code == codes.ResourceExhausted && strings.Contains(m, "larger than max"))
	case ErrDispatchMismatch:
		return e.Code == codes.FailedPrecondition && strings.Contains(m, "dispatch strategy")
	case ErrSchema:
		return e.Code == codes.FailedPrecondition && strings.Contains(strings.ToLower(m), "schema")
	case ErrAlreadyExists:
		return e.Code == codes.AlreadyExists
	case ErrUnavailable:
		return e.Code == codes.Unavailable
	}
	return false
}

// apiError turns a gRPC error into an *APIError wrapped with the operation, or wraps err unchanged when it
// carries no gRPC status (a context error, ErrClosed, ...). A call whose retries ran out also matches
// ErrUnavailable.
func apiError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) {
		return fmt.Errorf("%s: %w", op, err)
	}
	st := gs.GRPCStatus()
	ae = &APIError{Code: st.Code(), Message: st.Message()}
	if errors.Is(err, ErrUnavailable) && !ae.Is(ErrUnavailable) {
		return fmt.Errorf("%s: %w (retries exhausted: %w)", op, ae, ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", op, ae)
}
