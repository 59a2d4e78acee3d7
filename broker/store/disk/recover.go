package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// openLog recovers the log of topic from its directory: it scans every segment once, indexing its records,
// truncates the first damaged segment at its last good record and removes the segments after it.
func (s *Store) openLog(topic, dir string, buf *[]byte) (*diskLog, []RecoveryReport, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("disk: %w", err)
	}
	type segFile struct {
		base uint64
		path string
	}
	var files []segFile
	for _, e := range entries {
		name := e.Name()
		if base, ok := parseSegmentName(name); ok && e.Type().IsRegular() {
			files = append(files, segFile{base, filepath.Join(dir, name)})
		} else if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
		}
	}
	slices.SortFunc(files, func(a, b segFile) int {
		if a.base < b.base {
			return -1
		}
		if a.base > b.base {
			return 1
		}
		return 0
	})

	var reports []RecoveryReport
	report := func(path string, at, dropped int64, reason string) {
		rel, err := filepath.Rel(s.dir, path)
		if err != nil {
			rel = path
		}
		reports = append(reports, RecoveryReport{Topic: topic, Segment: rel, TruncatedAt: at, DroppedBytes: dropped, Reason: reason})
	}
	// dropFiles removes the segment files from i on and returns their total size.
	dropFiles := func(from int) (int64, error) {
		var total int64
		for _, f := range files[from:] {
			if st, err := os.Stat(f.path); err == nil {
				total += st.Size()
			}
			if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return total, fmt.Errorf("disk: %w", err)
			}
		}
		return total, nil
	}

	var segs []*segment
	changed := false
	for i, fl := range files {
		if n := len(segs); n > 0 {
			prev := segs[n-1]
			end := prev.base + uint64(len(prev.pos))
			if fl.base > end {
				// A gap: the older segments are left over from an interrupted deletion (or a file went
				// missing). Keep the newest contiguous run.
				var dropped int64
				for _, sg := range segs {
					dropped += sg.size
					if err := os.Remove(sg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
						return nil, nil, fmt.Errorf("disk: %w", err)
					}
				}
				report(prev.path, 0, dropped, fmt.Sprintf("offsets %d to %d are missing; removed the %d segment(s) before the gap",
					end, fl.base-1, len(segs)))
				segs, changed = nil, true
			} else if fl.base < end {
				dropped, err := dropFiles(i)
				if err != nil {
					return nil, nil, err
				}
				report(fl.path, 0, dropped, fmt.Sprintf("segment starts at offset %d, inside the previous segment which ends at %d; removed it and the later segments",
					fl.base, end))
				changed = true
				break
			}
		}
		sg, fileSize, damage, err := scanSegment(fl.path, fl.base, buf)
		if err != nil {
			return nil, nil, err
		}
		segs = append(segs, sg)
		if damage != nil {
			if err := truncateFile(fl.path, sg.size); err != nil {
				return nil, nil, err
			}
			dropped, err := dropFiles(i + 1)
			if err != nil {
				return nil, nil, err
			}
			reason := fmt.Sprintf("record at offset %d (file position %d): %v", sg.base+uint64(len(sg.pos)), sg.size, damage)
			if i+1 < len(files) {
				reason += fmt.Sprintf("; removed %d later segment(s)", len(files)-i-1)
			}
			report(fl.path, sg.size, fileSize-sg.size+dropped, reason)
			changed = true
			break
		}
	}
	if changed {
		if err := syncDir(dir); err != nil {
			return nil, nil, fmt.Errorf("disk: %w", err)
		}
	}

	l := newLog(s, topic, dir)
	if len(segs) == 0 {
		// The directory was created but its first segment never was.
		path := filepath.Join(dir, segmentName(0))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("disk: %w", err)
		}
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("disk: %w", err)
		}
		segs = append(segs, &segment{base: 0, path: path, f: f, lastWrite: s.opts.now()})
	}
	last := segs[len(segs)-1]
	if last.f == nil {
		f, err := os.OpenFile(last.path, os.O_RDWR, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("disk: %w", err)
		}
		last.f = f
	}
	for _, sg := range segs[:len(segs)-1] {
		sg.sealed = true
	}
	for _, sg := range segs {
		l.totalBytes += sg.size
	}
	l.segs = segs
	l.active = last
	l.start.Store(segs[0].base)
	l.written = last.base + uint64(len(last.pos))
	l.next.Store(l.written)
	l.cacheStart = l.written
	return l, reports, nil
}

// scanSegment reads a segment file sequentially and indexes its records. It stops at the first damaged
// record: damage says why, and the returned segment's size is the position of that record. err is an I/O
// error.
func scanSegment(path string, base uint64, bufp *[]byte) (sg *segment, fileSize int64, damage, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("disk: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("disk: %w", err)
	}
	fileSize = st.Size()
	sg = &segment{base: base, path: path, lastWrite: st.ModTime()}
	if want := int(min(fileSize, recoveryReadBufferSize)); len(*bufp) < want {
		*bufp = make([]byte, max(want, 4<<10))
	}
	sc := scanner{r: f, buf: *bufp}
	defer func() { *bufp = sc.buf }()
	var pos int64 // file position of the next record
	for pos < fileSize {
		body, n, derr := sc.next(fileSize - pos)
		if derr == nil {
			if pos > math.MaxUint32 {
				derr = errors.New("segment larger than 4 GiB")
			} else {
				derr = checkBody(body, base+uint64(len(sg.pos)))
			}
		}
		if derr != nil {
			var ioErr *ioError
			if errors.As(derr, &ioErr) {
				return nil, 0, nil, fmt.Errorf("disk: reading %s: %w", path, ioErr.err)
			}
			damage = derr
			break
		}
		sg.pos = append(sg.pos, uint32(pos))
		pos += int64(n)
	}
	sg.size = pos
	return sg, fileSize, damage, nil
}

// scanner reads framed records sequentially from r through a buffer.
type scanner struct {
	r    io.Reader
	buf  []byte
	lo   int // buf[lo:hi] holds unread bytes
	hi   int
	done bool
}

type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }

// next returns the next record's body (valid until the following call) and its framed length. remaining is
// the number of bytes left in the file from the record on; a record that claims more is torn.
func (sc *scanner) next(remaining int64) ([]byte, int, error) {
	if remaining < headerSize {
		return nil, 0, errShortHeader
	}
	if err := sc.fill(headerSize); err != nil {
		return nil, 0, err
	}
	size := binary.LittleEndian.Uint32(sc.buf[sc.lo:])
	if size > maxBody {
		return nil, 0, errTooLarge
	}
	need := headerSize + int(size)
	if int64(need) > remaining {
		return nil, 0, errShortBody
	}
	if err := sc.fill(need); err != nil {
		return nil, 0, err
	}
	body, n, err := decodeFrame(sc.buf[sc.lo:sc.hi])
	if err != nil {
		return nil, 0, err
	}
	sc.lo += n
	return body, n, nil
}

// fill makes sure at least need unread bytes are buffered.
func (sc *scanner) fill(need int) error {
	if sc.hi-sc.lo >= need {
		return nil
	}
	if need > len(sc.buf) {
		nb := make([]byte, max(need, 2*len(sc.buf)))
		sc.hi = copy(nb, sc.buf[sc.lo:sc.hi])
		sc.lo, sc.buf = 0, nb
	} else if sc.lo > 0 {
		sc.hi = copy(sc.buf, sc.buf[sc.lo:sc.hi])
		sc.lo = 0
	}
	n, err := io.ReadAtLeast(sc.r, sc.buf[sc.hi:], need-sc.hi)
	sc.hi += n
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errShortBody // the file shrank under us
		}
		return &ioError{err}
	}
	return nil
}

// truncateFile cuts a file to size and fsyncs it.
func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("disk: truncating %s: %w", path, err)
	}
	return nil
}
