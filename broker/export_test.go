package broker

// SetStreamWorkers makes the brokers started after it serve their client port with n stream workers instead
// of streamWorkers, until restore is called. Not safe to call while a broker is starting.
func SetStreamWorkers(n uint32) (restore func()) {
	old := streamWorkers
	streamWorkers = n
	return func() { streamWorkers = old }
}
