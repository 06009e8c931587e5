// The Go snippets of the Kafka tutorial Weir began from, as one program, written against
// segmentio/kafka-go 0.2.1 as Debian 12 packages it (golang-github-segmentio-kafka-go-dev).
// That kafka-go never asks ApiVersions: it sends Metadata v1, Produce v2 (message format
// magic 1), Fetch v2 and ListOffsets v1, and cannot read record batches (magic 2), so the
// broker converts both ways.
//
// Build it offline, with no module proxy:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tutorial ./examples/go/tutorial
//
// Run it against `make run`'s broker:
//
//	./tutorial -brokers 127.0.0.1:9092 -topic tutorial            # list, write 50, read from 42
//	./tutorial -topic t -codec gzip write                          # only write (none|gzip|snappy|lz4)
//	./tutorial -topic t -offset 0 read                             # only read, from 0 to the end
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

var (
	brokers = flag.String("brokers", "127.0.0.1:9092", "bootstrap broker host:port")
	topic   = flag.String("topic", "tutorial", "topic to write and read")
	codec   = flag.String("codec", "none", "compression for write: none, gzip, snappy or lz4")
	count   = flag.Int("count", 50, "messages to write")
	offset  = flag.Int64("offset", 42, "offset to read from")
	prefix  = flag.String("prefix", "", "prepended to each key and value written")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: tutorial [flags] [list|write|read]   (no command: all three, as the tutorial does)\n"+
			"example: tutorial -brokers 127.0.0.1:9092 -topic tutorial\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	steps := flag.Args()
	if len(steps) == 0 {
		steps = []string{"list", "write", "read"}
	}
	for _, step := range steps {
		var err error
		switch step {
		case "list":
			err = list()
		case "write":
			err = write()
		case "read":
			err = read()
		default:
			flag.Usage()
			os.Exit(2)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", step, err)
			os.Exit(1)
		}
	}
}

// list: kafka.Dial + conn.ReadPartitions(). With no topic kafka-go 0.2.1 sends an empty
// topic list, which Metadata v1 answers with no topics (as Kafka does): so ask for ours.
func list() error {
	conn, err := kafka.Dial("tcp", *brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	all, err := conn.ReadPartitions()
	if err != nil {
		return err
	}
	fmt.Printf("partitions listed with no topic named: %d\n", len(all))
	partitions, err := conn.ReadPartitions(*topic)
	if err != nil {
		return err
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i].ID < partitions[j].ID })
	for _, p := range partitions {
		fmt.Printf("topic %s partition %d leader %d\n", p.Topic, p.ID, p.Leader.ID)
	}
	return nil
}

// write: kafka.DialLeader (which creates the topic) + SetWriteDeadline + WriteMessages.
func write() error {
	conn, err := kafka.DialLeader(context.Background(), "tcp", *brokers, *topic, 0)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	msgs := make([]kafka.Message, *count)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("%skey-%d", *prefix, i)), Value: []byte(fmt.Sprintf("%svalue-%d", *prefix, i))}
	}
	var n int
	switch *codec {
	case "none":
		n, err = conn.WriteMessages(msgs...)
	case "gzip":
		n, err = conn.WriteCompressedMessages(gzip.NewCompressionCodec(), msgs...)
	case "snappy":
		n, err = conn.WriteCompressedMessages(snappy.NewCompressionCodec(), msgs...)
	case "lz4":
		n, err = conn.WriteCompressedMessages(lz4.NewCompressionCodec(), msgs...)
	default:
		return fmt.Errorf("unknown codec %q", *codec)
	}
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d messages (%d bytes, %s)\n", len(msgs), n, *codec)
	return nil
}

// read: kafka.NewReader + SetOffset + ReadMessage, printing `offset: key = value`, up to the
// end of the partition as it was when reading began.
func read() error {
	conn, err := kafka.DialLeader(context.Background(), "tcp", *brokers, *topic, 0)
	if err != nil {
		return err
	}
	end, err := conn.ReadLastOffset()
	conn.Close()
	if err != nil {
		return err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   []string{*brokers},
		Topic:     *topic,
		Partition: 0,
		MinBytes:  1,
		MaxBytes:  10e6,
	})
	defer r.Close()
	if err := r.SetOffset(*offset); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for next := *offset; next < end; {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("%d: %s = %s\n", m.Offset, string(m.Key), string(m.Value))
		next = m.Offset + 1
	}
	return nil
}
