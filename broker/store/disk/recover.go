package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/danube-console/danube-console/broker/store"
)

// Recovery never deletes data. What it cannot use stays where it is or is moved aside into a file whose name
// ends in ".corrupt", next to where it was:
//
//   - A damaged record in the middle of a version 2 segment is skipped: a record whose header is intact (its
//     own checksum verifies) is skipped exactly when the end of the file or another valid record header
//     follows the length it claims; otherwise the reader looks for the next marker whose header and body
//     verify, and whose offset the bytes skipped can explain, and resumes there. The damaged bytes stay in
//     the file, and each Open reports them (regions that touch as one, and at most maxReportsPerFile
//     reports per file).
//   - A damaged tail (no valid record after it) is copied to "<segment>.at-<position>.corrupt" and the
//     segment cut back to its last good record, so that appends continue after good data. When that fails,
//     the tail stays and the segment takes no more appends: a new segment does, for nothing may be written
//     after damage that a later Open would have to tell from it. A version 1 segment, whose framing has no
//     marker, stops at its first bad record, which starts its tail.
//   - A segment that cannot be read at all is renamed to "<segment>.corrupt" and the log goes on without it.
//   - Segment files missing between others leave a hole in the log's offsets.
//
// The next offset is past every offset the files show was ever stored, so that offsets never repeat.

// minRecordSize is the smallest a record of any format can be: a version 1 header and a body holding an empty
// msg_id. It bounds the offsets a moved-aside segment may have held.
const minRecordSize = v1HeaderSize + 2

// minV2RecordSize is the smallest a version 2 record can be: its header and a body of two bytes (a segment
// record's empty msg_id, or a metadata record's operation and empty key).
const minV2RecordSize = recHeaderSize + 2

// resyncBudgetFactor bounds the work of looking for the next valid record: the body checksums computed for
// candidate records during resynchronisation may cover at most this many times the file's size (plus 1 MiB),
// after which the rest of the file counts as damaged. Only crafted files come close.
const resyncBudgetFactor = 2

var markerBytes = binary.LittleEndian.AppendUint32(nil, recMarker)

type segFile struct {
	base uint64
	path string
}

// openLog recovers the log of topic from its directory: it scans every segment once, indexing its records,
// skips damaged records, moves damaged tails and unreadable segments aside, and starts a new segment when the
// last one cannot take appends (version 1 format, or offsets past its end were seen).
func (s *Store) openLog(topic, dir string, buf *[]byte) (*diskLog, []RecoveryReport, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("disk: %w", err)
	}
	var files []segFile
	var aside []uint64 // bases of the segments that have parts moved aside (".corrupt" files)
	for _, e := range entries {
		name := e.Name()
		if seg, _, ok := strings.Cut(name, segSuffix+"."); ok && strings.HasSuffix(name, ".corrupt") {
			if base, ok := parseSegmentName(seg + segSuffix); ok {
				aside = append(aside, base)
			}
		}
		if base, ok := parseSegmentName(name); ok && e.Type().IsRegular() {
			files = append(files, segFile{base, filepath.Join(dir, name)})
		} else if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
		}
	}
	slices.SortFunc(files, func(a, b segFile) int {
		switch {
		case a.base < b.base:
			return -1
		case a.base > b.base:
			return 1
		}
		return 0
	})

	var reports []RecoveryReport
	add := func(r RecoveryReport) {
		r.Topic = topic
		r.File = s.relPath(r.File)
		if r.MovedTo != "" {
			r.MovedTo = s.relPath(r.MovedTo)
		}
		reports = append(reports, r)
	}

	var segs []*segment
	var next uint64    // one past every offset known to have been stored
	var lastEnd uint64 // next as it was after the last kept segment
	stuck := false     // the last kept segment ends in damage that stays in it: it takes no appends
	changed := false
	movedPrev := false // the previous file was moved aside
	for i, fl := range files {
		limit := uint64(math.MaxUint64)
		if i+1 < len(files) {
			limit = files[i+1].base
		}
		// A hole is reported unless recovery made it: then what was lost is in a ".corrupt" file of a segment
		// from the one before the hole on.
		if len(segs) > 0 && next < fl.base && !movedPrev &&
			!slices.ContainsFunc(aside, func(b uint64) bool { return b >= segs[len(segs)-1].base && b < fl.base }) {
			add(RecoveryReport{File: fl.path, Action: store.RecoveryMissing, Records: int64(fl.base - next),
				FirstOffset: next, LastOffset: fl.base - 1,
				Reason: fmt.Sprintf("no segment file holds offsets %d to %d: a file is missing; the log goes on after the hole", next, fl.base-1)})
		}
		movedPrev = false
		next = max(next, fl.base)
		sc, err := scanSegment(fl.path, fl.base, limit, buf)
		if err != nil {
			return nil, nil, err
		}
		if sc.unreadable != nil {
			moved, err := moveAside(fl.path)
			if err != nil {
				return nil, nil, fmt.Errorf("disk: moving aside the unreadable segment %s: %w", fl.path, err)
			}
			changed = true
			// It may have held offsets up to what its size allows (and below the next segment's base); a
			// segment whose size is unknown may have been as large as a segment can be.
			size := sc.fileSize
			if sc.sizeUnknown {
				size = math.MaxUint32
			}
			bound := min(fl.base+uint64(size/minRecordSize), limit-1)
			next = max(next, bound+1)
			add(RecoveryReport{File: fl.path, Action: store.RecoveryMoved, Records: -1, FirstOffset: fl.base,
				LastOffset: bound, Bytes: sc.fileSize, MovedTo: moved,
				Reason: fmt.Sprintf("unreadable segment: %v", sc.unreadable)})
			movedPrev = true
			continue
		}
		sg := sc.sg
		next = max(next, sg.end())
		if sc.hasMax {
			// Records skipped, or moved aside in a damaged tail, whose headers are intact (with plausible
			// offsets): their offsets may have been seen by consumers and are never given again.
			next = max(next, sc.maxOff+1)
		}
		lastEnd = next
		stuck = sc.format != formatV2
		reps := sc.damage.reports()
		if r := sc.damage.tail; r != nil {
			rep := r.report(fl.base, sc.format)
			aside = append(aside, fl.base) // explains a hole after this segment
			moved, err := moveTail(fl.path, r.at, sc.fileSize)
			if err == nil {
				rep.Action, rep.MovedTo = store.RecoveryTruncated, moved
				sg.size = r.at
				changed = true
			} else {
				// The damaged bytes stay, and nothing may be appended after them: a later Open could not tell
				// where they end, and might skip good records along with them. The segment takes no more
				// appends; a new one does (see below).
				rep.Action = store.RecoverySkipped
				rep.Reason += fmt.Sprintf("; could not move it aside, so it stays in the file, which takes no more appends: %v", err)
				sg.size = sc.fileSize
				stuck = true
				s.log.Error("disk: recovery could not move a damaged tail aside", "file", fl.path, "err", err)
			}
			reps = append(reps, rep)
		}
		for _, rep := range reps {
			rep.File = fl.path
			add(rep)
		}
		sc.damage = damage{}
		if sc.needsHeader {
			if err := writeHeader(fl.path); err != nil {
				return nil, nil, err
			}
			sg.size = fileHeaderSize
		}
		segs = append(segs, sg)
	}

	l := newLog(s, topic, dir)
	var last *segment
	if n := len(segs); n > 0 {
		last = segs[n-1]
	}
	if last == nil || stuck || lastEnd != next {
		// A new segment takes the appends: the last one is in the old format or ends in damage that stays in
		// it, or offsets past it were seen (in a segment moved aside).
		base := next
		if last != nil && last.base == base {
			base++ // the last segment holds no record; its name is taken
		}
		sg, err := createSegment(dir, base, s.opts.now())
		if err != nil {
			return nil, nil, fmt.Errorf("disk: %w", err)
		}
		segs = append(segs, sg)
		last, next, changed = sg, base, false // createSegment fsynced the directory
	}
	if changed {
		if err := syncDir(dir); err != nil {
			return nil, nil, fmt.Errorf("disk: %w", err)
		}
	}
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
	l.written = next
	l.next.Store(next)
	l.cacheStart = next
	return l, reports, nil
}

func (s *Store) relPath(path string) string {
	if rel, err := filepath.Rel(s.dir, path); err == nil {
		return rel
	}
	return path
}

// segScan is what scanSegment found in one segment file.
type segScan struct {
	sg          *segment
	format      int
	fileSize    int64
	maxOff      uint64 // the highest offset seen in an intact record header, when hasMax
	hasMax      bool
	damage      damage
	needsHeader bool  // the file is empty or holds only part of a version 2 file header
	unreadable  error // the file cannot be used; it must be moved aside
	sizeUnknown bool  // fileSize is 0 because the file could not be stat-ed
}

// region is a damaged part of a file.
type region struct {
	at, end int64 // file positions [at, end)
	tail    bool  // no valid record follows it
	exact   bool  // exactly one record whose header is intact (hdr)
	hdrOK   bool  // the record header at `at` is intact (hdr)
	known   bool  // ... and its offset is at or above the last valid record's and plausible (see scanV2)
	hdr     recHeader
	prev    uint64 // offset of the last valid record before the region, when hasPrev
	hasPrev bool
	next    uint64 // offset of the first valid record after it, unless tail
	reason  error
}

// report describes r. base is the lowest offset the file may hold.
func (r region) report(base uint64, format int) RecoveryReport {
	rep := RecoveryReport{Action: store.RecoverySkipped, Position: r.at, Bytes: r.end - r.at, Records: -1}
	lo := base
	if r.hasPrev {
		lo = r.prev + 1
	}
	switch {
	case r.exact || (r.tail && r.hdrOK):
		rep.Records, rep.FirstOffset, rep.LastOffset = 1, r.hdr.off, r.hdr.off
	case !r.tail:
		if r.next > lo {
			rep.Records, rep.FirstOffset, rep.LastOffset = int64(r.next-lo), lo, r.next-1
		} else {
			rep.Records, rep.FirstOffset = 0, lo
		}
	default:
		rep.FirstOffset = lo // the first offset that may have been lost
	}
	what := "record"
	if format == formatV1 {
		what = "record (format version 1: the rest of the file is not read)"
	}
	rep.Reason = fmt.Sprintf("damaged %s at file position %d: %v", what, r.at, r.reason)
	return rep
}

// maxReportsPerFile bounds the reports of the damaged regions skipped in one file: a badly damaged or crafted
// file may hold millions of them. The regions past the first maxReportsPerFile-1 are folded into one report.
const maxReportsPerFile = 100

// damage collects the damaged regions of one file as recovery finds them, in file order: the reports of the
// regions skipped, merged and bounded as they come (so that a file damaged all over costs little memory), and
// the damaged tail, which is always the last region.
type damage struct {
	base   uint64 // the lowest offset the file may hold
	format int
	tail   *region
	found  bool // a region was added

	reps    []RecoveryReport // of the regions skipped
	merged  int              // regions merged into the last of reps besides its first
	folding int              // regions summed up in the last of reps, once reps is full
	endPos  int64            // where the last region summed up ends
}

func (d *damage) add(r region) {
	d.found = true
	if r.tail {
		d.tail = &r
		return
	}
	rep := r.report(d.base, d.format)
	n := len(d.reps)
	switch {
	case d.folding > 0:
		last := &d.reps[n-1]
		bytes := last.Bytes + rep.Bytes
		addReport(last, rep)
		last.Bytes = bytes
		d.folding++
		d.endPos = rep.Position + rep.Bytes
	case n > 0 && d.reps[n-1].Position+d.reps[n-1].Bytes == rep.Position:
		// Regions that touch are one.
		addReport(&d.reps[n-1], rep)
		d.merged++
	case n == maxReportsPerFile-1:
		d.note()
		d.reps = append(d.reps, rep)
		d.folding, d.endPos = 1, rep.Position+rep.Bytes
	default:
		d.note()
		d.reps = append(d.reps, rep)
	}
}

// note finishes the last report of regions that touch.
func (d *damage) note() {
	if d.merged > 0 {
		r := &d.reps[len(d.reps)-1]
		r.Reason += fmt.Sprintf(" (merged with the %d damaged regions right after it, %d bytes in all)", d.merged, r.Bytes)
	}
	d.merged = 0
}

// reports returns the reports of the regions skipped, without the tail's.
func (d *damage) reports() []RecoveryReport {
	if d.folding > 1 {
		r := &d.reps[len(d.reps)-1]
		r.Reason = fmt.Sprintf("%d more damaged regions between file positions %d and %d, folded into this report "+
			"(%d bytes in all); the first: %s", d.folding, r.Position, d.endPos, r.Bytes, r.Reason)
		d.folding = 1
	} else {
		d.note()
	}
	return d.reps
}

// addReport adds the region of b, which comes after a's in the same file, to a: records and bytes are
// summed (Bytes spans both, with what lies between) and the offsets span both.
func addReport(a *RecoveryReport, b RecoveryReport) {
	switch {
	case a.Records < 0 || b.Records < 0:
		a.Records = -1
	case b.Records > 0 && a.Records == 0:
		a.Records, a.FirstOffset, a.LastOffset = b.Records, b.FirstOffset, b.LastOffset
	case b.Records > 0:
		a.Records += b.Records
		a.LastOffset = max(a.LastOffset, b.LastOffset)
	}
	a.Bytes = b.Position + b.Bytes - a.Position
}

// openForScan opens a segment file for recovery to read. It is a variable so that tests can make reads fail.
var openForScan = os.Open

// scanSegment reads a segment file and indexes its valid records. limit is the base of the next segment file
// (offsets at or above it do not belong here). A file that cannot be opened, stat-ed or read is unreadable;
// err is an internal error.
func scanSegment(path string, base, limit uint64, bufp *[]byte) (*segScan, error) {
	f, err := openForScan(path)
	if err != nil {
		return unreadableSegment(path, err), nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return unreadableSegment(path, err), nil
	}
	sc := &segScan{fileSize: st.Size(), format: formatV2, damage: damage{base: base, format: formatV2}}
	sc.sg = &segment{base: base, path: path, lastWrite: st.ModTime(), format: formatV2}
	w := newWindow(f, sc.fileSize, bufp)
	defer w.release(bufp)

	head, err := w.peek(0, fileHeaderSize)
	if err != nil {
		sc.unreadable = err
		return sc, nil
	}
	if v, ok := parseFileHeader(head, segMagic); ok {
		if v != formatV2 {
			sc.unreadable = fmt.Errorf("unsupported format version %d", v)
			return sc, nil
		}
		sc.sg.size = fileHeaderSize
		err = sc.scanV2(w, fileHeaderSize, base, limit)
	} else if len(head) < fileHeaderSize && bytes.HasPrefix(fileHeader(segMagic), head) {
		sc.needsHeader = true // created, its header not (fully) written: nothing was stored
		return sc, nil
	} else if _, _, err := tryV1(w, 0, base, limit); err == nil {
		sc.format, sc.sg.format, sc.damage.format = formatV1, formatV1, formatV1
		err = sc.scanV1(w, base, limit)
	} else {
		// Neither format's header: a version 2 file whose header is damaged, or garbage.
		err = sc.scanV2(w, 0, base, limit)
		if err == nil && len(sc.sg.pos) == 0 {
			sc.damage, sc.hasMax = damage{}, false
			sc.unreadable = errors.New("no file header and no valid record")
		}
	}
	if err != nil {
		var ioErr *ioError
		if errors.As(err, &ioErr) {
			sc.damage, sc.sg.pos, sc.sg.offs = damage{}, nil, nil
			sc.unreadable = ioErr.err
			return sc, nil
		}
		return nil, err
	}
	return sc, nil
}

// unreadableSegment is the scan of a segment file that could not be opened or stat-ed: its size is what a
// plain stat says, when it can (it bounds the offsets the file may have held).
func unreadableSegment(path string, err error) *segScan {
	sc := &segScan{format: formatV2, unreadable: err}
	if st, serr := os.Stat(path); serr == nil {
		sc.fileSize = st.Size()
	} else {
		sc.sizeUnknown = true
	}
	return sc
}

// scanV2 indexes the version 2 records of a segment from pos on.
func (sc *segScan) scanV2(w *window, pos int64, base, limit uint64) error {
	sg := sc.sg
	lo := base
	check := func(pos int64, off uint64, body []byte) error {
		if pos > math.MaxUint32 {
			return errors.New("segment larger than 4 GiB")
		}
		if off < lo || off >= limit {
			return fmt.Errorf("record carries offset %d, outside this segment's remaining range %d to %d", off, lo, limit-1)
		}
		return checkBody(body, off)
	}
	var end int64 // of the last record
	accept := func(pos int64, off uint64, n int, _ []byte) {
		if len(sg.pos) > 0 && pos != end {
			sg.setEnd(len(sg.pos)-1, end)
		}
		sg.add(uint32(pos), off)
		lo = off + 1
		end = pos + int64(n)
	}
	onRegion := func(r region) {
		if r.known && r.hdr.off < limit {
			sc.maxOff, sc.hasMax = max(sc.maxOff, r.hdr.off), true
		}
		sc.damage.add(r)
	}
	if err := scanV2(w, pos, base, check, accept, onRegion); err != nil {
		return err
	}
	if len(sg.pos) > 0 && end != w.size {
		sg.setEnd(len(sg.pos)-1, end)
	}
	sg.size = w.size
	if r := sc.damage.tail; r != nil {
		sg.size = r.at
	}
	return nil
}

// scanV1 indexes the records of a version 1 segment, stopping at the first damaged one.
func (sc *segScan) scanV1(w *window, base, limit uint64) error {
	sg := sc.sg
	var pos int64
	for pos < w.size {
		off := base + uint64(len(sg.pos))
		n, _, err := tryV1(w, pos, off, limit)
		if err != nil {
			var ioErr *ioError
			if errors.As(err, &ioErr) {
				return err
			}
			r := region{at: pos, end: w.size, tail: true, reason: err}
			if len(sg.pos) > 0 {
				r.prev, r.hasPrev = off-1, true
			}
			sc.damage.add(r)
			break
		}
		sg.pos = append(sg.pos, uint32(pos))
		pos += int64(n)
	}
	sg.size = pos
	return nil
}

// tryV1 checks the version 1 record at pos, which must carry offset off.
func tryV1(w *window, pos int64, off, limit uint64) (int, []byte, error) {
	b, err := w.peek(pos, v1HeaderSize)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < v1HeaderSize {
		return 0, nil, errShortHeader
	}
	size := binary.LittleEndian.Uint32(b)
	if size > maxBody {
		return 0, nil, errTooLarge
	}
	need := v1HeaderSize + int64(size)
	if pos+need > w.size {
		return 0, nil, errShortBody
	}
	if b, err = w.peek(pos, int(need)); err != nil {
		return 0, nil, err
	}
	body, n, err := decodeFrameV1(b)
	if err != nil {
		return 0, nil, err
	}
	if pos > math.MaxUint32 {
		return 0, nil, errors.New("segment larger than 4 GiB")
	}
	if off >= limit {
		return 0, nil, fmt.Errorf("record at offset %d reaches into the next segment, which starts at %d", off, limit)
	}
	if err := checkBody(body, off); err != nil {
		return 0, nil, err
	}
	return n, body, nil
}

// scanV2 walks the version 2 records of w from pos on. first is the lowest offset the first record may carry.
// check says whether an intact frame holds a valid record (pos is its file position); accept receives each
// valid record, in file order, and onRegion each damaged region. err is an *ioError.
//
// Records carry consecutive offsets, so a record is valid only if its offset is plausible for the bytes
// since the last valid record (each record lost in them takes at least minV2RecordSize): a frame embedded in
// a message, which resynchronisation may come upon, cannot claim an offset far in the future and make every
// later record look out of order.
func scanV2(w *window, pos int64, first uint64, check func(pos int64, off uint64, body []byte) error,
	accept func(pos int64, off uint64, n int, body []byte), onRegion func(region)) error {
	var prev uint64
	hasPrev := false
	lo, goodEnd := first, pos
	most := func(p int64) uint64 { return uint64(p-goodEnd)/minV2RecordSize + 1 }
	plausible := func(p int64, off uint64, body []byte) error {
		if off >= lo && off-lo > most(p) {
			return fmt.Errorf("record carries offset %d, but the %d bytes before it can hold at most %d records after offset %d",
				off, p-goodEnd, most(p)-1, lo)
		}
		return check(p, off, body)
	}
	for pos < w.size {
		h, n, hdrOK, body, err := tryV2(w, pos, plausible)
		if err == nil {
			accept(pos, h.off, n, body)
			prev, hasPrev = h.off, true
			pos += int64(n)
			lo, goodEnd = h.off+1, pos
			continue
		}
		var ioErr *ioError
		if errors.As(err, &ioErr) {
			return err
		}
		r := region{at: pos, hdr: h, hdrOK: hdrOK, prev: prev, hasPrev: hasPrev, reason: err}
		r.known = hdrOK && h.off >= lo && h.off-lo <= most(pos)
		end := pos + recHeaderSize + int64(h.size)
		if hdrOK && end <= w.size {
			// The header is intact and the body is all there: skip exactly this record, if what follows
			// confirms its length (the end of the file or a valid record header). A torn record's header
			// claims more bytes than were written, and whatever was written after it would be swallowed.
			follows, err := headerAt(w, end)
			if err != nil {
				return err
			}
			if follows {
				r.exact, r.end = true, end
				onRegion(r)
				pos = end
				continue
			}
		}
		from := pos + 1
		if hdrOK {
			from = pos + recHeaderSize // an intact header holds no record
		}
		at, nh, err := resyncV2(w, from, plausible)
		if err != nil {
			return err
		}
		if at < 0 {
			r.end, r.tail = w.size, true
			onRegion(r)
			break
		}
		r.end, r.next = at, nh.off
		onRegion(r)
		pos = at
	}
	return nil
}

// headerAt reports whether pos is the end of w or holds an intact version 2 record header.
func headerAt(w *window, pos int64) (bool, error) {
	if pos == w.size {
		return true, nil
	}
	b, err := w.peek(pos, recHeaderSize)
	if err != nil {
		return false, err
	}
	_, ok := parseRecHeader(b)
	return ok, nil
}

// tryV2 checks the version 2 record at pos. hdrOK reports that its header is intact, h then says what it
// claims; n is the record's length when err is nil.
func tryV2(w *window, pos int64, check func(pos int64, off uint64, body []byte) error) (h recHeader, n int, hdrOK bool, body []byte, err error) {
	b, err := w.peek(pos, recHeaderSize)
	if err != nil {
		return h, 0, false, nil, err
	}
	if len(b) < recHeaderSize {
		return h, 0, false, nil, errShortHeader
	}
	h, ok := parseRecHeader(b)
	if !ok {
		return recHeader{}, 0, false, nil, errBadHeader
	}
	need := recHeaderSize + int64(h.size)
	if pos+need > w.size {
		return h, 0, true, nil, errShortBody
	}
	if w.budget -= int64(h.size); w.budget < 0 && w.resyncing {
		return h, 0, true, nil, errors.New("resynchronisation budget exhausted")
	}
	if b, err = w.peek(pos, int(need)); err != nil {
		return h, 0, true, nil, err
	}
	if int64(len(b)) < need {
		return h, 0, true, nil, errShortBody // the file shrank under us
	}
	body = b[recHeaderSize:need]
	if checksum(body) != h.bodyCRC {
		return h, 0, true, nil, errChecksum
	}
	if err := check(pos, h.off, body); err != nil {
		return h, 0, true, nil, err
	}
	return h, int(need), true, body, nil
}

// resyncV2 finds the first valid record at or after pos. at is -1 when there is none.
func resyncV2(w *window, pos int64, check func(pos int64, off uint64, body []byte) error) (at int64, h recHeader, err error) {
	w.resyncing = true
	defer func() { w.resyncing = false }()
	for pos+recHeaderSize <= w.size && w.budget >= 0 {
		b, err := w.peek(pos, recHeaderSize)
		if err != nil {
			return -1, h, err
		}
		if len(b) < recHeaderSize {
			break
		}
		i := bytes.Index(b, markerBytes)
		if i < 0 {
			pos += int64(len(b) - len(markerBytes) + 1)
			continue
		}
		cand := pos + int64(i)
		h, _, _, _, err := tryV2(w, cand, check)
		if err == nil {
			return cand, h, nil
		}
		var ioErr *ioError
		if errors.As(err, &ioErr) {
			return -1, h, err
		}
		pos = cand + 1
	}
	return -1, h, nil
}

// window reads a file through a buffer, forwards and at any position.
type window struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	start int64 // file position of buf[0]
	n     int   // valid bytes in buf

	budget    int64 // what resynchronisation may still checksum
	resyncing bool
}

type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }

func newWindow(r io.ReaderAt, size int64, bufp *[]byte) *window {
	w := &window{r: r, size: size, budget: resyncBudgetFactor*size + 1<<20}
	if bufp != nil {
		w.buf = *bufp
	}
	if want := int(min(size, recoveryReadBufferSize)); len(w.buf) < want {
		w.buf = make([]byte, max(want, 4<<10))
	}
	return w
}

func (w *window) release(bufp *[]byte) {
	if bufp != nil && len(w.buf) <= 4*recoveryReadBufferSize {
		*bufp = w.buf
	}
}

// peek returns the buffered bytes from pos on: at least want of them, or all that is left of the file. Read
// errors are *ioError.
func (w *window) peek(pos int64, want int) ([]byte, error) {
	if rest := w.size - pos; rest < int64(want) {
		want = int(max(rest, 0))
	}
	if pos >= w.start && pos+int64(want) <= w.start+int64(w.n) {
		return w.buf[pos-w.start : w.n], nil
	}
	keep := 0
	if want > len(w.buf) {
		nb := make([]byte, max(want, 2*len(w.buf)))
		if pos >= w.start && pos < w.start+int64(w.n) {
			keep = copy(nb, w.buf[pos-w.start:w.n])
		}
		w.buf = nb
	} else if pos >= w.start && pos < w.start+int64(w.n) {
		keep = copy(w.buf, w.buf[pos-w.start:w.n])
	}
	w.start, w.n = pos, keep
	if toRead := min(int64(len(w.buf)-w.n), w.size-pos-int64(w.n)); toRead > 0 {
		m, err := w.r.ReadAt(w.buf[w.n:w.n+int(toRead)], pos+int64(w.n))
		w.n += m
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, &ioError{err}
		}
	}
	return w.buf[:w.n], nil
}

// moveAside renames path to path+".corrupt" (or path+".N.corrupt" when that is taken).
func moveAside(path string) (string, error) {
	for i := 0; ; i++ {
		name := asideName(path, i)
		if _, err := os.Lstat(name); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) || i > 1000 {
			return "", err
		}
		if err := os.Rename(path, name); err != nil {
			return "", err
		}
		return name, nil
	}
}

func asideName(prefix string, i int) string {
	if i == 0 {
		return prefix + ".corrupt"
	}
	return fmt.Sprintf("%s.%d.corrupt", prefix, i)
}

// createAside creates a new file named after prefix with the ".corrupt" suffix.
func createAside(prefix string) (*os.File, error) {
	for i := 0; ; i++ {
		f, err := os.OpenFile(asideName(prefix, i), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) && i < 1000 {
			continue
		}
		return f, err
	}
}

// copyAside copies bytes [from, to) of path into a new ".corrupt" file named after prefix, fsynced, and
// returns its name.
func copyAside(path, prefix string, from, to int64) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dst, err := createAside(prefix)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(dst, io.NewSectionReader(src, from, to-from))
	if err == nil {
		err = fsync(dst)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(dst.Name()) // our own incomplete copy
		return "", err
	}
	return dst.Name(), nil
}

// moveTail copies bytes [from, size) of path aside and then cuts path to from.
func moveTail(path string, from, size int64) (string, error) {
	moved, err := copyAside(path, fmt.Sprintf("%s.at-%d", path, from), from, size)
	if err != nil {
		return "", err
	}
	if err := truncateFile(path, from); err != nil {
		return moved, err
	}
	return moved, nil
}

// writeHeader replaces the contents of a segment file that holds no record (at most a torn file header) with
// a version 2 file header.
func writeHeader(path string) error {
	return changeFile(path, "writing the header of", func(f *os.File) error {
		_, err := f.WriteAt(fileHeader(segMagic), 0)
		return err
	})
}

// truncateFile cuts a file to size and fsyncs it.
func truncateFile(path string, size int64) error {
	return changeFile(path, "truncating", func(f *os.File) error { return f.Truncate(size) })
}

// changeFile opens an existing file, changes it, fsyncs and closes it; a failure says what was being done.
func changeFile(path, doing string, change func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	err = change(f)
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("disk: %s %s: %w", doing, path, err)
	}
	return nil
}
