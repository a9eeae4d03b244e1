using System.Diagnostics;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

/// <summary>
/// Where Transform's time goes, per image, in one process (issue "Fast on any CPU"): each stage of scoring from encoded
/// bytes and from LoadImages alone, in alternating rounds, medians reported in milliseconds per image:
/// decode (the library's decoding and resizing of the PNG bytes, one thread), load-images (ML.NET's LoadImages reading the
/// same images from files, and the library's conversion of its MLImage), engine (the transformer's own ONNX Runtime session
/// on pixels already decoded: the input copy, the session, the output copies), onnx-bare (ONNX Runtime alone on the same
/// export, float input, default session: the peer), transform-bytes and transform-files (ML.NET's Transform end to end,
/// from bytes and from LoadImages), what is left of each (Transform minus the engine: the part a pipeline adds), and one
/// image at a time: a PredictionEngine on the bytes against ONNX Runtime alone at batch 1 plus the decode.
/// </summary>
internal static class TransformStages
{
    public static Dictionary<string, object> Run(int batch, int size, int steps, int rounds, int threads)
    {
        var count = steps * batch;
        var pngs = Enumerable.Range(0, count).Select(i => SingleMeasurement.Png(size, i)).ToArray();
        var folder = Directory.CreateTempSubdirectory("efficientnet-stages-").FullName;
        try
        {
            var files = pngs.Select((png, i) => { var path = Path.Combine(folder, $"{i}.png"); File.WriteAllBytes(path, png); return path; }).ToArray();
            var ml = new MLContext(seed: 1);
            using var classifier = SingleMeasurement.Classifier(size, batch, ScoringEngine.OnnxRuntime);
            IImageScorer scorer = classifier;
            var bytesRows = ml.Data.LoadFromEnumerable(pngs.Select(p => new SingleMeasurement.EncodedRow { Image = p }));
            var fileRows = ml.Transforms.LoadImages("Image", "", "Path").Fit(ml.Data.LoadFromEnumerable(files.Select(f => new PathRow { Path = f })))
                .Transform(ml.Data.LoadFromEnumerable(files.Select(f => new PathRow { Path = f })));
            var decoded = pngs.Select(p => RgbImage.FromEncoded(p, size)).ToArray();
            var batches = decoded.Chunk(batch).ToArray();

            using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 1000);
            using var stream = new MemoryStream();
            EfficientNet.MLNet.Onnx.OnnxExport.Write(model, size, stream);
            using var options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            using var session = new InferenceSession(stream.ToArray(), options);
            var floats = batches.Select(b => new DenseTensor<float>(b.SelectMany(p => p.Select(v => (float)v)).ToArray(), new[] { b.Length, 3, size, size })).ToArray();
            var singles = decoded.Select(p => new DenseTensor<float>(p.Select(v => (float)v).ToArray(), new[] { 1, 3, size, size })).ToArray();
            using var predictor = ml.Model.CreatePredictionEngine<SingleMeasurement.EncodedRow, ScoreRow>(classifier, new PredictionEngineOptions { OwnsTransformer = false });
            var row = new SingleMeasurement.EncodedRow();

            var stages = new Dictionary<string, Func<double>>
            {
                ["decode"] = () => Time(() => { foreach (var png in pngs) RgbImage.FromEncoded(png, size); }),
                ["load-images"] = () => Time(() => LoadImagesAlone(fileRows, size)),
                ["engine"] = () => Time(() => { foreach (var b in batches) scorer.Score(b); }),
                ["onnx-bare"] = () => Time(() => { foreach (var input in floats) { using var r = session.Run(new[] { NamedOnnxValue.CreateFromTensor(EfficientNet.MLNet.Onnx.OnnxExport.InputName, input) }); } }),
                ["transform-bytes"] = () => Time(() => classifier.Transform(bytesRows).GetColumn<float[]>("Score").Count()),
                ["transform-files"] = () => Time(() => classifier.Transform(fileRows).GetColumn<float[]>("Score").Count()),
                ["prediction-engine"] = () => Time(() => { foreach (var png in pngs) { row.Image = png; predictor.Predict(row); } }),
                ["onnx-bare-single"] = () => Time(() => { foreach (var input in singles) { using var r = session.Run(new[] { NamedOnnxValue.CreateFromTensor(EfficientNet.MLNet.Onnx.OnnxExport.InputName, input) }); } }),
            };
            foreach (var stage in stages.Values) { stage(); stage(); } // warm-up: two passes each
            var times = stages.Keys.ToDictionary(k => k, _ => new List<double>());
            for (var round = 0; round < rounds; round++)
                foreach (var (name, stage) in stages)
                    times[name].Add(stage() * 1000 / count);
            var medians = times.ToDictionary(t => t.Key, t => Statistics.Median(t.Value));
            var result = new Dictionary<string, object>
            {
                ["ms_per_image"] = medians.ToDictionary(m => m.Key, m => Math.Round(m.Value, 3)),
                ["transform_bytes_over_onnx_bare"] = Math.Round(medians["onnx-bare"] / medians["transform-bytes"], 3),
                ["transform_files_over_onnx_bare"] = Math.Round(medians["onnx-bare"] / medians["transform-files"], 3),
                // The latency target: a PredictionEngine's single image at most 1.2x ONNX Runtime's own plus the decode.
                ["prediction_engine_over_onnx_single_plus_decode"] = Math.Round(medians["prediction-engine"] / (medians["onnx-bare-single"] + medians["decode"]), 3),
                ["engine_over_onnx_bare"] = Math.Round(medians["onnx-bare"] / medians["engine"], 3),
                ["transform_bytes_minus_engine_ms"] = Math.Round(medians["transform-bytes"] - medians["engine"], 3),
                ["transform_files_minus_engine_ms"] = Math.Round(medians["transform-files"] - medians["engine"], 3),
                ["images"] = count,
                ["rounds"] = rounds,
            };
            return result;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    // LoadImages reading and decoding every file, and the library's conversion of each MLImage to the network's input.
    static void LoadImagesAlone(IDataView rows, int size)
    {
        using var cursor = rows.GetRowCursor(rows.Schema.Where(c => c.Name == "Image"));
        var getter = cursor.GetGetter<MLImage>(rows.Schema["Image"]);
        MLImage image = null!;
        while (cursor.MoveNext())
        {
            getter(ref image);
            RgbImage.FromMLImage(image, size);
        }
        image?.Dispose();
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }

    sealed class PathRow
    {
        public string Path { get; set; } = "";
    }
}
