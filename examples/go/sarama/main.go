// The other popular Go client as Debian 12 packages it: Shopify/sarama 1.22.1
// (golang-github-shopify-sarama-dev). At its default config.Version (V0_8_2_0) it never asks
// ApiVersions and speaks Kafka 0.8: Metadata v0, Produce v0 and Fetch v0 with message format
// magic 0, ListOffsets v0. Consumer groups need V0_10_2_0 (JoinGroup v1, SyncGroup v0,
// OffsetCommit v2, OffsetFetch v1, FindCoordinator v0, Fetch v3 with magic 1).
//
// Build it offline, with no module proxy:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o sarama-example ./examples/go/sarama
//
// Run it against `make run`'s broker:
//
//	./sarama-example -topic s -codec gzip produce          # 10 messages, sarama's default version
//	./sarama-example -topic s consume                      # from the oldest offset to the end
//	./sarama-example -topic s -group g group               # a consumer group (V0_10_2_0)
//	./sarama-example -topic s -version 2.1.0 -codec zstd produce   # refused, as Kafka refuses it
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
)

var (
	brokers = flag.String("brokers", "127.0.0.1:9092", "bootstrap broker host:port")
	topic   = flag.String("topic", "sarama", "topic (partition 0)")
	codec   = flag.String("codec", "none", "compression for produce: none, gzip, snappy, lz4 or zstd")
	count   = flag.Int("count", 10, "messages to produce")
	prefix  = flag.String("prefix", "", "prepended to each key and value produced")
	group   = flag.String("group", "sarama-group", "consumer group id for the group command")
	version = flag.String("version", "", "config.Version (default: sarama's own, 0.8.2.0; the group command uses 0.10.2.0)")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: sarama-example [flags] produce|consume|group\n"+
			"example: sarama-example -brokers 127.0.0.1:9092 -topic s -codec snappy produce\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch flag.Arg(0) {
	case "produce":
		err = produce()
	case "consume":
		err = consume()
	case "group":
		err = consumeGroup()
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Printf("%s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
}

func config(defaultVersion sarama.KafkaVersion) (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.Version = defaultVersion
	if *version != "" {
		v, err := sarama.ParseKafkaVersion(*version)
		if err != nil {
			return nil, err
		}
		c.Version = v
	}
	return c, nil
}

func produce() error {
	c, err := config(sarama.NewConfig().Version)
	if err != nil {
		return err
	}
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Producer.Retry.Max = 0
	switch *codec {
	case "none":
	case "gzip":
		c.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		c.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		c.Producer.Compression = sarama.CompressionLZ4
	case "zstd":
		c.Producer.Compression = sarama.CompressionZSTD
	default:
		return fmt.Errorf("unknown codec %q", *codec)
	}
	p, err := sarama.NewSyncProducer([]string{*brokers}, c)
	if err != nil {
		return err
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, *count)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: *topic, Partition: 0,
			Key: sarama.StringEncoder(fmt.Sprintf("%skey-%d", *prefix, i)), Value: sarama.StringEncoder(fmt.Sprintf("%svalue-%d", *prefix, i))}
	}
	if err := p.SendMessages(msgs); err != nil {
		if errs, ok := err.(sarama.ProducerErrors); ok && len(errs) > 0 {
			return errs[0].Err
		}
		return err
	}
	fmt.Printf("produced %d messages (%s, version %s) at offsets %d..%d\n", len(msgs), *codec, c.Version, msgs[0].Offset, msgs[len(msgs)-1].Offset)
	return nil
}

// consume: a partition consumer from the oldest offset to the end the partition had when it began.
func consume() error {
	c, err := config(sarama.NewConfig().Version)
	if err != nil {
		return err
	}
	c.Consumer.Return.Errors = true
	client, err := sarama.NewClient([]string{*brokers}, c)
	if err != nil {
		return err
	}
	defer client.Close()
	end, err := client.GetOffset(*topic, 0, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(*topic, 0, sarama.OffsetOldest)
	if err != nil {
		return err
	}
	defer pc.Close()
	timeout := time.After(20 * time.Second)
	for next := int64(-1); next < end-1; {
		select {
		case m := <-pc.Messages():
			fmt.Printf("%d: %s = %s\n", m.Offset, m.Key, m.Value)
			next = m.Offset
		case err := <-pc.Errors():
			return err
		case <-timeout:
			return fmt.Errorf("timed out before offset %d", end)
		}
	}
	return nil
}

// consumeGroup: one member of a consumer group reads partition 0 to its end, marks what it
// read, and leaves; sarama commits the marked offsets on close.
func consumeGroup() error {
	c, err := config(sarama.V0_10_2_0)
	if err != nil {
		return err
	}
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Return.Errors = true
	g, err := sarama.NewConsumerGroup([]string{*brokers}, *group, c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &handler{done: cancel}
	err = g.Consume(ctx, []string{*topic}, h)
	if closeErr := g.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	if !h.reachedEnd {
		return fmt.Errorf("timed out before the end of the partition")
	}
	return nil
}

type handler struct {
	done       context.CancelFunc
	reachedEnd bool
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	fmt.Printf("member of %s, assigned %v\n", *group, s.Claims()[*topic])
	return nil
}

func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		fmt.Printf("%d: %s = %s\n", m.Offset, m.Key, m.Value)
		s.MarkMessage(m, "")
		if m.Offset+1 >= claim.HighWaterMarkOffset() {
			h.reachedEnd = true
			h.done()
			return nil
		}
	}
	return nil
}
