// Package client is a Go client for Danube, wire-compatible with real Danube clusters and with
// danube-console's embedded broker.
//
// Connect once, then create producers and consumers from the client:
//
//	c, err := client.Connect(ctx, "http://127.0.0.1:6650")
//	if err != nil { ... }
//	defer c.Close()
//
//	p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: "/default/orders", Name: "orders-writer"})
//	if err != nil { ... }
//	if _, err := p.Send(ctx, []byte("hello")); err != nil { ... }
//
//	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: "/default/orders", Subscription: "billing"})
//	if err != nil { ... }
//	for m := range cons.Messages() {
//		process(m)
//		m.Ack(ctx)
//	}
//
// Ack waits for the broker's answer: one round trip per message. To keep up with fast producers, ack in
// flight with Consumer.AckAsync (and NackAsync): up to ConsumerConfig.AckWindow acks (default 128) go out at
// once, still one Ack call per message, and each message's outcome comes back to its callback; a message
// counts as acknowledged only once its callback got nil. Close drains the acks in flight.
//
//	err := cons.AckAsync(ctx, m, func(err error) {
//		if err != nil { ... } // not acknowledged: the broker will deliver it again
//	})
//
// Every call takes a context first. Failures are errors matchable with errors.Is against the sentinels in
// errors.go (ErrTopicNotFound, ErrUnauthenticated, ErrMessageTooLarge, ...), and with the context's error when
// the context ended; calls are retried only on Unavailable, DeadlineExceeded and ResourceExhausted (never on a
// size limit), with jittered backoff, and never for ever.
//
// An Observer (WithObserver) sees lookups, producer and consumer lifecycles, every send, receive, ack and
// nack, health checks and connection states; with no observer set, the data path does not pay for it. The
// client never waits for an observer: events go through a queue that drops what a slow observer cannot take,
// unless the observer is an InlineObserver, which promises never to block and is called directly.
//
// The client keeps the official Danube clients' wire behaviour (lookups, partition routing, health checks,
// headers) and fixes their defects: no unbounded retry loops, no goroutine that outlives Close, health checks
// that stop with their producer or consumer, and consumers that reconnect by themselves when a stream ends or
// the broker restarts.
package client
