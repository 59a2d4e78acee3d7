package client

import "sync/atomic"

var requestIDs atomic.Uint64

// nextRequestID numbers requests that are not a producer's sends.
func nextRequestID() uint64 { return requestIDs.Add(1) }
