package client

import (
	"context"
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
	// ErrSubscriptionNotFound: the broker does not know the subscription an Ack or Nack names (it was deleted,
	// or the broker restarted without it).
	ErrSubscriptionNotFound = errors.New("danube: subscription not found")
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
	// ErrRefused: an admin or schema registry call was answered without an error but with success=false; the
	// error's text carries the broker's reason, when it gave one.
	ErrRefused = errors.New("danube: refused by the broker")
)

// APIError is a broker's answer to a call: the gRPC code and the message. It matches the sentinels above
// with errors.Is according to the code and the brokers' texts: where a text is unambiguous (a real broker
// answers "not found" with several codes, and every admin failure with NotFound), the text decides.
type APIError struct {
	Code    codes.Code
	Message string
}

// Error implements error: the broker's message and, in brackets, the code, except a NotFound whose message
// says nothing is missing: the brokers answer every admin refusal with NotFound ("… has active consumers"),
// where the code would mislead.
func (e *APIError) Error() string {
	if e.Code == codes.NotFound && !e.saysMissing() {
		return e.Message
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// saysMissing reports whether the message says that something does not exist.
func (e *APIError) saysMissing() bool {
	m := strings.ToLower(e.Message)
	for _, s := range []string{"not found", "unable to find", "does not exist", "no such", "unknown"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return e.Is(ErrTopicNotFound) || e.Is(ErrNamespaceNotFound)
}

// GRPCStatus lets status.Code and status.FromError see the broker's answer.
func (e *APIError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// Is matches the sentinel errors.
func (e *APIError) Is(target error) bool {
	m := e.Message
	switch target {
	case ErrTopicNotFound:
		return topicNotFound(e.Code, m)
	case ErrInvalidTopic:
		return e.Code == codes.InvalidArgument && strings.Contains(m, "invalid format")
	case ErrNamespaceNotFound:
		return strings.Contains(m, "Unable to find the namespace") || adminNotFound(m, "Namespace ") ||
			adminDoesNotExist(m, "namespace") || strings.HasPrefix(m, "Unable to retrieve polices for the namespace ") ||
			(strings.Contains(m, " due to Namespace ") && strings.HasSuffix(m, " does not exists."))
	case ErrProducerNotFound:
		return e.Code == codes.NotFound && strings.Contains(m, "The producer with id")
	case ErrConsumerNotFound:
		return e.Code == codes.NotFound && strings.Contains(m, "The consumer with the id")
	case ErrSubscriptionNotFound:
		return e.Code == codes.Internal && strings.Contains(m, "message: Subscription not found")
	case ErrSubscriptionTaken:
		return e.Code == codes.PermissionDenied && strings.Contains(m, "Exclusive subscription")
	case ErrUnauthenticated:
		return e.Code == codes.Unauthenticated
	case ErrPermissionDenied:
		return e.Code == codes.PermissionDenied
	case ErrMessageTooLarge:
		return (e.Code == codes.InvalidArgument && strings.Contains(m, "exceeds maximum allowed")) ||
			(e.Code == codes.ResourceExhausted && strings.Contains(m, "larger than max")) ||
			(e.Code == codes.OutOfRange && strings.Contains(m, "too large")) // a real (tonic) broker's decode limit
	case ErrDispatchMismatch:
		return e.Code == codes.FailedPrecondition && strings.Contains(m, "dispatch strategy")
	case ErrSchema:
		return e.Code == codes.FailedPrecondition && strings.Contains(strings.ToLower(m), "schema")
	case ErrAlreadyExists:
		return e.Code == codes.AlreadyExists || strings.Contains(m, "due to: it already exists") ||
			(strings.HasPrefix(m, "Unable to create the ") && strings.Contains(m, " already exist"))
	case ErrUnavailable:
		return e.Code == codes.Unavailable
	}
	return false
}

// topicNotFound reports the brokers' answers that say a topic does not exist:
//
//	NotFound "Unable to find the topic: <t>" (CreateProducer, Subscribe)
//	NotFound "Unable to find the requested topic: <t>" (TopicLookup)
//	any code "… Topic <t> not found in registry" (SendMessage's PermissionDenied, Ack's Internal)
//	NotFound "Topic '<t>' not found on this broker" (the schema registry's topic calls)
//	NotFound "Topic <t> not found" (admin DescribeTopic, ListSubscriptions, …)
//	NotFound "Unable to <verb> the topic <t> due to: it does not exist" (admin)
//	NotFound "Unable to <verb> the subscription <s> due to: topic <t> does not exist" (admin)
//	NotFound "Unable to delete the topic <t> due to Unable to find topic: <t>" (admin DeleteTopic)
func topicNotFound(code codes.Code, m string) bool {
	if code == codes.NotFound && (strings.Contains(m, "find the topic") || strings.Contains(m, "find the requested topic") ||
		strings.Contains(m, " due to Unable to find topic: ")) {
		return true
	}
	if strings.Contains(m, "not found in registry") || adminNotFound(m, "Topic ") || adminDoesNotExist(m, "topic") ||
		adminDoesNotExist(m, "partitioned topic") {
		return true
	}
	_, reason, ok := strings.Cut(m, " due to: topic ")
	return ok && strings.HasPrefix(m, "Unable to ") && strings.HasSuffix(reason, " does not exist")
}

// adminNotFound reports "<kind><name> not found" (e.g. "Namespace foo not found", "Topic '/a/b' not found on
// this broker"), where the name is one word.
func adminNotFound(m, kind string) bool {
	rest, ok := strings.CutPrefix(m, kind)
	if !ok {
		return false
	}
	name, tail, ok := strings.Cut(rest, " ")
	return ok && name != "" && (tail == "not found" || strings.HasPrefix(tail, "not found "))
}

// adminDoesNotExist reports "Unable to <verb> the <subject> <name> due to: it does not exist".
func adminDoesNotExist(m, subject string) bool {
	rest, ok := strings.CutPrefix(m, "Unable to ")
	if !ok {
		return false
	}
	_, rest, ok = strings.Cut(rest, " ")
	if !ok {
		return false
	}
	rest, ok = strings.CutPrefix(rest, "the "+subject+" ")
	if !ok {
		return false
	}
	name, reason, ok := strings.Cut(rest, " due to: ")
	return ok && name != "" && !strings.Contains(name, " ") && reason == "it does not exist"
}

// apiError turns a gRPC error into an *APIError wrapped with the operation, or wraps err unchanged when it
// carries no gRPC status (a context error, ErrClosed, ...). A call whose retries ran out also matches
// ErrUnavailable, and one that ended with the caller's context (or the client's Close) also matches
// context.Canceled or context.DeadlineExceeded (or ErrClosed).
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
	// The sentinels err matched besides the broker's answer (errors.Join'ed by the retries and sends).
	var also []error
	if errors.Is(err, ErrUnavailable) && !ae.Is(ErrUnavailable) {
		also = append(also, ErrUnavailable)
	}
	for _, x := range []error{context.Canceled, context.DeadlineExceeded, ErrClosed} {
		if errors.Is(err, x) {
			also = append(also, x)
		}
	}
	format, args := "%s: %w", []any{op, ae}
	for _, x := range also {
		if x == ErrUnavailable {
			format += " (retries exhausted: %w)"
		} else {
			format += " (%w)"
		}
		args = append(args, x)
	}
	return fmt.Errorf(format, args...)
}

// withCtxErr makes err also match ctx's error when ctx is done and err does not already (a gRPC
// DeadlineExceeded or Canceled status does not match the context's errors).
func withCtxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return errors.Join(err, cerr)
	}
	return err
}
