using System.Diagnostics;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Weights;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Cli;

[Collection(TrainingCollection.Name)]
public class ExportCommandTests(ShapesFixture shapes)
{
    (int Exit, string Output, string Error) Export(string zip, params string[] what)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(new[] { "export", "--model", zip }.Concat(what).ToArray(), output, error);
        return (exit, output.ToString(), error.ToString());
    }

    string SavedModel(FixturePaths.TemporaryFolder folder)
    {
        var zip = folder.File("model.zip");
        shapes.MLContext.Model.Save(shapes.Model, shapes.TrainSet.Schema, zip);
        return zip;
    }

    [Fact]
    public void Export_writes_an_onnx_model_that_onnxruntime_loads_and_the_class_names_beside_it()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var zip = SavedModel(folder);

        var (exit, output, error) = Export(zip, "--onnx", folder.File("out/shapes.onnx"));
        var nothing = Export(zip);

        Assert.True(exit == 0, error);
        Assert.Contains("shapes.labels.txt", output);
        Assert.Equal(shapes.Classifier.ClassNames, File.ReadAllLines(folder.File("out/shapes.labels.txt")));
        using var session = new InferenceSession(folder.File("out/shapes.onnx"));
        Assert.Equal(new[] { "probabilities", "logits" }, session.OutputMetadata.Keys);
        Assert.Equal(2, nothing.Exit);
        Assert.Contains("--onnx", nothing.Error);
    }

    [Fact]
    public void Export_fp16_writes_float16_weights_that_onnxruntime_runs_and_refuses_fp16_without_onnx()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var zip = SavedModel(folder);

        var (exit, output, error) = Export(zip, "--onnx", folder.File("half.onnx"), "--fp16");
        var withoutOnnx = Export(zip, "--safetensors", folder.File("w.safetensors"), "--fp16");

        Assert.True(exit == 0, error);
        Assert.Contains("weights stored as float16", output);
        var model = EfficientNet.MLNet.Onnx.Ir.ModelProto.Parser.ParseFrom(File.ReadAllBytes(folder.File("half.onnx")));
        Assert.Contains(model.Graph.Initializer, t => t.DataType == (int)EfficientNet.MLNet.Onnx.Ir.TensorProto.Types.DataType.Float16);
        using var session = new InferenceSession(folder.File("half.onnx"));
        Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, session.InputMetadata["image"].ElementDataType);
        Assert.Equal((2, true), (withoutOnnx.Exit, withoutOnnx.Error.Contains("--fp16 applies to the ONNX model")));
        Assert.False(File.Exists(folder.File("w.safetensors")));
    }

    [Fact]
    public void Exported_safetensors_load_into_torchvisions_own_network_with_the_same_logits()
    {
        Assert.SkipUnless(TorchvisionEquivalenceTests.TorchvisionIsInstalled(), "python3-torchvision is not installed (apt-get install python3-torchvision).");
        using var folder = new FixturePaths.TemporaryFolder();
        var (exit, _, error) = Export(SavedModel(folder), "--safetensors", folder.File("shapes.safetensors"));
        Assert.True(exit == 0, error);
        var model = shapes.Classifier.Model;
        manual_seed(8);
        using var input = NetworkInput.From(rand(3, 3, 48, 48) * 255, PixelNormalization.ImageNet).contiguous();
        SafetensorsWriter.Write(folder.File("input.safetensors"), new[] { ("input", input) });

        var script = FixturePaths.Of("torchvision_logits.py");
        using (var process = Process.Start(new ProcessStartInfo("/usr/bin/python3")
               {
                   ArgumentList = { script, folder.File("shapes.safetensors"), "b0", $"{shapes.Classifier.ClassNames.Count}", folder.File("input.safetensors"), folder.File("logits.safetensors") },
                   RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(script)!,
               })!)
        {
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, stderr);
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ours = model.call(input);
        var theirs = SafetensorsFile.Open(folder.File("logits.safetensors")).ReadTensor("logits");
        Assert.True(ours.allclose(theirs, rtol: 1e-4, atol: 1e-4), $"largest difference {(ours - theirs).abs().max().item<float>()}");
    }
}
