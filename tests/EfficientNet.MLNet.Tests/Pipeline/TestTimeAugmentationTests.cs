using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.Pipeline;

[Collection(TrainingCollection.Name)]
public class TestTimeAugmentationTests(ShapesFixture shapes)
{
    [Theory]
    [InlineData(ScoringEngine.OnnxRuntime)]
    [InlineData(ScoringEngine.TorchSharp)]
    public void Flip_scores_are_the_mean_of_the_image_and_its_mirror_image_on_either_engine(ScoringEngine engine)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var images = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, false).Take(6).ToList();
        var mirrors = images.Select((image, i) =>
        {
            using var original = SKBitmap.Decode(image.ImagePath);
            using var mirrored = new SKBitmap(original.Width, original.Height);
            using (var canvas = new SKCanvas(mirrored))
            {
                canvas.Scale(-1, 1, original.Width / 2f, 0);
                canvas.DrawBitmap(original, 0, 0);
            }
            var path = folder.File($"mirror-{i}.png");
            using (var file = File.Create(path))
                mirrored.Encode(SKEncodedImageFormat.Png, 100).SaveTo(file);
            return new LabeledImage(path, image.Label);
        }).ToList();
        var classifier = shapes.Classifier;
        List<float[]> Score(IEnumerable<LabeledImage> rows) => shapes.Model.Transform(shapes.MLContext.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToList();
        var previousEngine = classifier.ScoringEngine;
        try
        {
            classifier.ScoringEngine = engine;
            var plain = Score(images);
            var mirrored = Score(mirrors);
            classifier.TestTimeAugmentation = TestTimeAugmentation.HorizontalFlip;
            var averaged = Score(images);
            var averagedMirrors = Score(mirrors);

            for (var i = 0; i < images.Count; i++)
            {
                var expected = plain[i].Zip(mirrored[i], (a, b) => (a + b) / 2).ToArray();
                Assert.Equal(expected, averaged[i], new ToleranceComparer(1e-5f));
                Assert.Equal(averaged[i], averagedMirrors[i], new ToleranceComparer(1e-5f));
            }
            Assert.Contains(Enumerable.Range(0, images.Count), i => Math.Abs(plain[i].Max() - averaged[i].Max()) > 1e-4);
        }
        finally
        {
            classifier.TestTimeAugmentation = TestTimeAugmentation.None;
            classifier.ScoringEngine = previousEngine;
        }
    }

    [Theory]
    [InlineData(TestTimeAugmentation.FlipAndFiveCrops, 12)]
    [InlineData(TestTimeAugmentation.FiveCrops, 6)]
    public void Five_crops_average_their_views_scored_one_by_one(TestTimeAugmentation augmentation, int viewCount)
    {
        var classifier = shapes.Classifier;
        var images = Enumerable.Range(0, 3).Select(i =>
        {
            var image = new byte[3 * classifier.ImageSize * classifier.ImageSize];
            new Random(i).NextBytes(image);
            return image;
        }).ToList();
        var views = EfficientNet.MLNet.Scoring.TestTimeViews.Of(images, classifier.ImageSize, augmentation);
        var separately = views.Select(batch => classifier.Score(batch)).ToList();
        try
        {
            classifier.TestTimeAugmentation = augmentation;
            var averaged = classifier.Score(images);

            for (var i = 0; i < images.Count; i++)
            {
                var expected = Enumerable.Range(0, classifier.ClassNames.Count).Select(c => separately.Average(view => view[i][c])).Select(v => (float)v).ToArray();
                Assert.Equal(expected, averaged[i], new ToleranceComparer(1e-5f));
                Assert.Equal(1, averaged[i].Sum(), 4);
            }
            Assert.Equal(viewCount, views.Count);
            Assert.NotEqual(separately[0][0], averaged[0]);
        }
        finally
        {
            classifier.TestTimeAugmentation = TestTimeAugmentation.None;
        }
    }
}
