using System.Diagnostics;
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using Microsoft.ML;

/// <summary>
/// Mode 5: Fit again and again for a while (b0 at 32 px, 64 images, 5 epochs each) while another thread allocates about
/// 200 MB/s, as a busy application might, so that garbage collections come often. TorchSharp 0.107 hands libtorch the
/// handles of temporary Scalars, and a collection during such a call can kill the process (see Network/Scalars.cs and
/// Training/NoCollectionWindow.cs); before the library kept its Scalars and held collections off during optimizer
/// steps, this crashed within 20 to 70 seconds. Prints how much it trained; a crash ends the process.
/// </summary>
internal static class ScalarStress
{
    public static void Run(double seconds)
    {
        var stop = false;
        var allocator = new Thread(() =>
        {
            var junk = new List<byte[]>();
            while (!Volatile.Read(ref stop))
            {
                for (var i = 0; i < 200; i++) junk.Add(new byte[1024]);
                junk.Clear();
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        allocator.Start();
        var ml = new MLContext(1);
        var images = SyntheticShapes.Write(Path.Combine(Path.GetTempPath(), "efficientnet-scalar-stress"), imagesPerClass: 16, size: 32, seed: 1);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
            .Fit(ml.Data.LoadFromEnumerable(images)).Transform(ml.Data.LoadFromEnumerable(images));
        var clock = Stopwatch.StartNew();
        var epochs = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            using var model = ml.MulticlassClassification.Trainers.EfficientNet(new EfficientNetTrainer.Options { ImageSize = 32, Epochs = 5, BatchSize = 8, Seed = 1 }).Fit(data);
            epochs += 5;
        }
        Volatile.Write(ref stop, true);
        Console.WriteLine($"scalar stress: {epochs} epochs of {images.Count} images in {clock.Elapsed.TotalSeconds:0} s under allocation pressure, no crash; {GC.CollectionCount(0)} gen0 collections");
    }
}
