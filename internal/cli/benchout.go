package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// printBench prints bench's results in one of its formats: md (one
// markdown table, ceilings first), json (an array, as llama-bench -o
// json), jsonl (one object per line) or csv (a header of field names).
func (a *app) printBench(format string, rows []benchResult) error {
	if rows == nil {
		rows = []benchResult{}
	}
	switch format {
	case "json":
		return a.printJSON(rows)
	case "jsonl":
		w := bufio.NewWriter(a.stdout)
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return fail("encode JSON", err)
			}
			w.Write(append(b, '\n'))
		}
		return fail("write output", w.Flush())
	case "csv":
		return fail("write output", writeBenchCSV(a.stdout, rows))
	}
	return fail("write output", writeBenchMD(a.stdout, rows))
}

// benchCSVFields are the CSV columns, llama-bench's names first.
var benchCSVFields = []string{
	"model_type", "model_size", "n_params", "n_threads", "n_prompt", "n_gen", "test",
	"avg_ts", "stddev_ts", "samples_ts", "samples_ns", "model", "dtype", "kernels",
	"gbps", "gflops", "ceiling", "pct_of_ceiling", "speedup", "weight_bytes_per_token",
	"peak_rss_bytes", "samples_ceiling", "paired_read_gbps", "pct_of_paired_read", "samples_paired_read",
}

// joinFloats is a list of samples in one CSV cell, space-separated.
func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', 8, 64)
	}
	return strings.Join(s, " ")
}

func writeBenchCSV(out interface{ Write([]byte) (int, error) }, rows []benchResult) error {
	w := csv.NewWriter(out)
	if err := w.Write(benchCSVFields); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for _, r := range rows {
		ns := make([]string, len(r.SamplesNS))
		for i, v := range r.SamplesNS {
			ns[i] = strconv.FormatInt(v, 10)
		}
		rec := []string{
			r.ModelType, strconv.FormatInt(r.ModelSize, 10), strconv.FormatInt(r.NParams, 10),
			strconv.Itoa(r.NThreads), strconv.Itoa(r.NPrompt), strconv.Itoa(r.NGen), r.Test,
			f(r.AvgTS), f(r.StddevTS), joinFloats(r.SamplesTS), strings.Join(ns, " "), r.Model, r.DType, r.Kernels,
			f(r.GBps), f(r.GFLOPs), r.Ceiling, f(r.PctOfCeiling), f(r.SpeedUp), strconv.FormatInt(r.WeightBytesPerToken, 10),
			strconv.FormatInt(r.PeakRSSBytes, 10), joinFloats(r.SamplesCeiling),
			f(r.PairedReadGBps), f(r.PctOfPairedRead), joinFloats(r.SamplesPairedRead),
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// writeBenchMD prints one markdown table: the ceilings (when measured),
// then every model's rows; a % column when any row has a ceiling, a
// paired-read column when a tg row was paired with read passes, a
// speed-up column when the run compared models.
func writeBenchMD(out interface{ Write([]byte) (int, error) }, rows []benchResult) error {
	if len(rows) == 0 {
		return nil
	}
	pct, paired, speed := false, false, false
	for _, r := range rows {
		pct = pct || r.ceilRow || r.Ceiling != ""
		paired = paired || r.PairedReadGBps > 0
		speed = speed || r.SpeedUp > 0
	}
	w := bufio.NewWriter(out)
	head := "| model | params | dtype | size GiB | threads | test | t/s | rate |"
	sep := "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: |"
	if pct {
		head += " % of ceiling |"
		sep += " ---: |"
	}
	if paired {
		head += " paired read (% of it) |"
		sep += " ---: |"
	}
	head += " peak RSS GiB |"
	sep += " ---: |"
	if speed {
		head += " speed-up |"
		sep += " ---: |"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for _, r := range rows {
		rate := ""
		unit := "GFLOP/s"
		if r.intOps {
			unit = "GOP/s"
		}
		switch {
		case r.GBps > 0:
			rate = fmt.Sprintf("%.1f GB/s", r.GBps)
		case r.GFLOPs > 0:
			rate = fmt.Sprintf("%.0f %s", r.GFLOPs, unit)
		}
		ts, params, size := "", "", ""
		if !r.ceilRow {
			ts = fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StddevTS)
			params = humanCount(r.NParams)
		}
		if r.SizeBytes > 0 {
			size = fmt.Sprintf("%.2f", gib(r.SizeBytes))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %s | %s |", r.Model, params, r.DType, size, r.Threads, r.Test, ts, rate)
		if pct {
			switch {
			case r.ceilRow:
				fmt.Fprint(w, " ceiling |")
			case r.Ceiling != "":
				fmt.Fprintf(w, " %.0f%% of %s |", r.PctOfCeiling, strings.TrimPrefix(r.Ceiling, "peak_"))
			default:
				fmt.Fprint(w, " |")
			}
		}
		if paired {
			if r.PairedReadGBps > 0 {
				fmt.Fprintf(w, " %.1f GB/s (%.0f%%) |", r.PairedReadGBps, r.PctOfPairedRead)
			} else {
				fmt.Fprint(w, " |")
			}
		}
		if r.ceilRow {
			fmt.Fprint(w, " |")
		} else {
			fmt.Fprintf(w, " %.2f |", gib(r.PeakRSSBytes))
		}
		if speed {
			if r.SpeedUp > 0 {
				fmt.Fprintf(w, " %.2fx |", r.SpeedUp)
			} else {
				fmt.Fprint(w, " |")
			}
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}
