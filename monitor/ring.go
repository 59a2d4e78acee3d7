package monitor

// ringSlot is a kept message and whether a Messages call returned it.
type ringSlot struct {
	msg   Message
	shown bool
}

// ring keeps the most recent messages of a stream: at most size, and at most maxBytes of payload (but
// always the newest message). Its buffer grows as messages arrive, up to size slots, so an idle stream
// costs nothing. Its owner's mutex guards it.
type ring struct {
	size     int
	maxBytes int
	buf      []ringSlot
	start    int // index of the oldest message
	n        int // messages kept
	bytes    int // payload bytes kept
	evicted  uint64
	unshown  uint64 // evicted before a Messages call returned them
}

// push makes room for a message with a payload of size bytes and returns the slot to fill.
func (r *ring) push(bytes int) *ringSlot {
	for r.n > 0 && (r.n >= r.size || r.bytes+bytes > r.maxBytes) {
		r.evict()
	}
	if r.n == len(r.buf) { // full buffer, below size: grow
		nb := make([]ringSlot, min(r.size, max(16, 2*len(r.buf))))
		for i := range r.n {
			nb[i] = r.buf[(r.start+i)%len(r.buf)]
		}
		r.buf, r.start = nb, 0
	}
	i := (r.start + r.n) % len(r.buf)
	r.n++
	r.bytes += bytes
	return &r.buf[i]
}

// bySeq returns the slot of message seq of a stream whose newest message is last (nil: not kept).
func (r *ring) bySeq(seq, last uint64) *ringSlot {
	if seq == 0 || seq > last || last-seq >= uint64(r.n) {
		return nil
	}
	return &r.buf[(r.start+r.n-1-int(last-seq))%len(r.buf)]
}

// evict drops the oldest message.
func (r *ring) evict() {
	s := &r.buf[r.start]
	r.evicted++
	if !s.shown {
		r.unshown++
	}
	r.bytes -= len(s.msg.Payload)
	*s = ringSlot{} // let go of the payload and attributes
	r.start = (r.start + 1) % len(r.buf)
	r.n--
}

// last copies the newest k messages (k ≤ r.n), oldest first, and marks them shown.
func (r *ring) last(k int) []Message {
	out := make([]Message, k)
	for i := range k {
		s := &r.buf[(r.start+r.n-k+i)%len(r.buf)]
		out[i] = s.msg
		s.shown = true
	}
	return out
}

// unshownKept counts the kept messages no Messages call returned.
func (r *ring) unshownKept() uint64 {
	var n uint64
	for i := range r.n {
		if !r.buf[(r.start+i)%len(r.buf)].shown {
			n++
		}
	}
	return n
}

// offsetWindow is how many recent offsets per subscription redelivery detection remembers.
const offsetWindow = 1 << 16

// offsetSet remembers which offsets of a topic a subscription received, in a sliding window of the
// offsetWindow offsets below the highest one seen (a circular bitmap, 8 KiB, allocated on first use).
type offsetSet struct {
	words []uint64
	hi    uint64 // the highest offset recorded
	any   bool
}

// seen records off and reports whether it had been recorded before. Offsets below the window are not
// remembered: they report false.
func (s *offsetSet) seen(off uint64) bool {
	const nw = offsetWindow / 64
	if s.words == nil {
		s.words = make([]uint64, nw)
	}
	w, bit := off/64, uint64(1)<<(off%64)
	switch {
	case !s.any:
		s.any, s.hi = true, off
	case off > s.hi:
		from, to := s.hi/64+1, w
		if to >= from {
			if to-from >= nw {
				clear(s.words)
			} else {
				for x := from; x <= to; x++ {
					s.words[x%nw] = 0
				}
			}
		}
		s.hi = off
	case s.hi/64-w >= nw:
		return false // older than the window
	}
	p := &s.words[w%nw]
	old := *p&bit != 0
	*p |= bit
	return old
}
