// Package serve registers the demo's models on an in-process model server
// (the Open Inference Protocol's API and TF Serving's), computing real
// results: the digit classifier runs its trained dense network on every
// image of a batch, the tokenizer hashes every text of a batch, and the
// language model, a decoupled model as Triton's LLM backends are, streams
// the tokens that continue a prompt, one response each.
package serve

import (
	"context"
	"fmt"

	"github.com/goai-dev/goai/examples/models/digits"
	"github.com/goai-dev/goai/examples/models/textgen"
	"github.com/goai-dev/goai/examples/models/tokenizer"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/tensor"
)

// Register adds the "digits", "tokenizer" and "textgen" models to srv.
func Register(srv *inferencetest.Server) error {
	net, err := digits.Trained()
	if err != nil {
		return err
	}
	for _, m := range []inferencetest.Model{DigitsModel(net), TokenizerModel(), TextGenModel()} {
		if err := srv.Register(m); err != nil {
			return err
		}
	}
	return nil
}

// DigitsModel serves net as model "digits", version "1": FP32 pixels
// [-1, 8, 8] in, FP32 probabilities [-1, 10] out. TF Serving's API serves
// it too, under the default signature, with the label "stable" naming
// version 1.
func DigitsModel(net *digits.Net) inferencetest.Model {
	return inferencetest.Model{
		Name:          "digits",
		Versions:      []string{"1"},
		VersionLabels: map[string]string{"stable": "1"},
		Platform:      "goai_example",
		MaxBatchSize:  64,
		Inputs:        []inferencetest.TensorSpec{{Name: "pixels", DType: tensor.FP32, Shape: []int64{digits.Side, digits.Side}}},
		Outputs:       []inferencetest.TensorSpec{{Name: "probs", DType: tensor.FP32, Shape: []int64{digits.Classes}}},
		Infer: func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			pixels, err := tensor.DecodeFloat32(nil, req.Inputs[0].Raw)
			if err != nil {
				return nil, fmt.Errorf("pixels: %w", err)
			}
			probs, err := net.Forward(pixels)
			if err != nil {
				return nil, err
			}
			return []tensor.Tensor{{
				Name:  "probs",
				DType: tensor.FP32,
				Shape: []int64{int64(req.BatchSize), digits.Classes},
				Raw:   tensor.AppendFloat32(nil, probs),
			}}, nil
		},
	}
}

// TokenizerModel serves the tokenizer as model "tokenizer": BYTES text
// [-1] in, INT64 input_ids and attention_mask [-1, 16] out.
func TokenizerModel() inferencetest.Model {
	return inferencetest.Model{
		Name:         "tokenizer",
		Platform:     "goai_example",
		MaxBatchSize: 32,
		Inputs:       []inferencetest.TensorSpec{{Name: "text", DType: tensor.Bytes}},
		Outputs: []inferencetest.TensorSpec{
			{Name: "input_ids", DType: tensor.Int64, Shape: []int64{tokenizer.Length}},
			{Name: "attention_mask", DType: tensor.Int64, Shape: []int64{tokenizer.Length}},
		},
		Infer: func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			texts, err := tensor.DecodeStringElements(req.Inputs[0].Raw, req.BatchSize)
			if err != nil {
				return nil, fmt.Errorf("text: %w", err)
			}
			var ids, mask []int64
			for _, text := range texts {
				i, m := tokenizer.Tokenize(text)
				ids, mask = append(ids, i...), append(mask, m...)
			}
			shape := []int64{int64(req.BatchSize), tokenizer.Length}
			return []tensor.Tensor{
				{Name: "input_ids", DType: tensor.Int64, Shape: shape, Raw: tensor.AppendInt64(nil, ids)},
				{Name: "attention_mask", DType: tensor.Int64, Shape: shape, Raw: tensor.AppendInt64(nil, mask)},
			}, nil
		},
	}
}

// TextGenModel serves the language model as model "textgen", a decoupled
// model without a batch dimension, as Triton's vLLM and TensorRT-LLM
// backends present an LLM: BYTES text_input [1] and INT32 max_tokens [1]
// in; one response per token, BYTES text_output [1], the last marked
// final (for no tokens, the server marks the end alone, as Triton does,
// with an empty final response if the request asks for one).
func TextGenModel() inferencetest.Model {
	return inferencetest.Model{
		Name:     "textgen",
		Platform: "goai_example",
		Inputs: []inferencetest.TensorSpec{
			{Name: "text_input", DType: tensor.Bytes, Shape: []int64{1}},
			{Name: "max_tokens", DType: tensor.Int32, Shape: []int64{1}},
		},
		Outputs: []inferencetest.TensorSpec{{Name: "text_output", DType: tensor.Bytes, Shape: []int64{1}}},
		Stream: func(ctx context.Context, req *inferencetest.Request, send func([]tensor.Tensor, bool) error) error {
			prompt, err := tensor.DecodeStringElements(req.Inputs[0].Raw, 1)
			if err != nil {
				return fmt.Errorf("text_input: %w", err)
			}
			maxTokens, err := tensor.DecodeInt32(nil, req.Inputs[1].Raw)
			if err != nil {
				return fmt.Errorf("max_tokens: %w", err)
			}
			// The server checked the shapes, [1] each; a model does not
			// index what it was sent without looking all the same.
			if len(prompt) != 1 || len(maxTokens) != 1 {
				return fmt.Errorf("%d text_input and %d max_tokens elements, want one each", len(prompt), len(maxTokens))
			}
			tokens := textgen.Generate(prompt[0], int(maxTokens[0]))
			for i, tok := range tokens {
				if err := ctx.Err(); err != nil {
					return err
				}
				out := tensor.Tensor{Name: "text_output", DType: tensor.Bytes, Shape: []int64{1}, Raw: tensor.AppendStringElements(nil, []string{tok})}
				if err := send([]tensor.Tensor{out}, i == len(tokens)-1); err != nil {
					return fmt.Errorf("token %d: %w", i, err)
				}
			}
			return nil
		},
	}
}
