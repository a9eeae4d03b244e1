using EfficientNet.MLNet.Scoring;

namespace EfficientNet.MLNet.Tests.Scoring;

public class TestTimeViewsTests
{
    const int Size = 16;

    // Planar RGB whose red plane holds the column (x 10), green the row (x 10), blue 7.
    static byte[] Gradient()
    {
        var image = new byte[3 * Size * Size];
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                image[y * Size + x] = (byte)(10 * x);
                image[Size * Size + y * Size + x] = (byte)(10 * y);
                image[2 * Size * Size + y * Size + x] = 7;
            }
        return image;
    }

    [Fact]
    public void Flip_gives_the_image_and_its_mirror()
    {
        var image = Gradient();

        var views = TestTimeViews.Of(new[] { image }, Size, TestTimeAugmentation.HorizontalFlip);

        Assert.Equal(2, views.Count);
        Assert.Same(image, views[0][0]);
        Assert.Equal(150, views[1][0][0]);          // red at (0, 0) was column 15's
        Assert.Equal(0, views[1][0][Size - 1]);
        Assert.Equal(image, TestTimeViews.Mirror(views[1][0], Size));
    }

    [Fact]
    public void Five_crops_cover_the_corners_and_the_centre_at_seven_eighths_and_are_mirrored_too()
    {
        var image = Gradient();

        var views = TestTimeViews.Of(new[] { image, image }, Size, TestTimeAugmentation.FlipAndFiveCrops);

        Assert.Equal(12, views.Count);
        Assert.All(views, batch => Assert.Equal(2, batch.Count));
        Assert.All(views.SelectMany(b => b), view => Assert.Equal(3 * Size * Size, view.Length));
        // A crop of 14 columns scaled to 16: the red ramp spans 0..130 from the left corner, 20..150 from the right one.
        double Red(byte[] view, int x) => Enumerable.Range(0, Size).Average(y => view[y * Size + x]);
        double Green(byte[] view, int y) => Enumerable.Range(0, Size).Average(x => view[Size * Size + y * Size + x]);
        var (topLeft, topRight, bottomLeft, centre) = (views[1][0], views[2][0], views[3][0], views[5][0]);
        Assert.InRange(Red(topLeft, 0), 0, 4);
        Assert.InRange(Red(topLeft, Size - 1), 126, 134);
        Assert.InRange(Red(topRight, 0), 16, 24);
        Assert.InRange(Red(topRight, Size - 1), 146, 150);
        Assert.InRange(Green(bottomLeft, 0), 16, 24);
        Assert.InRange(Red(centre, 0), 6, 14);
        Assert.InRange(Red(centre, Size - 1), 136, 144);
        Assert.All(views.SelectMany(b => b), view => Assert.All(view.Skip(2 * Size * Size), blue => Assert.Equal(7, blue)));
        // The second half mirrors the first.
        for (var v = 0; v < 6; v++)
            Assert.Equal(TestTimeViews.Mirror(views[v][0], Size), views[v + 6][0]);
    }

    [Fact]
    public void Five_crops_alone_are_the_first_six_views_without_the_mirrors()
    {
        var image = Gradient();

        var mirrored = TestTimeViews.Of(new[] { image }, Size, TestTimeAugmentation.FlipAndFiveCrops);
        var cropsOnly = TestTimeViews.Of(new[] { image }, Size, TestTimeAugmentation.FiveCrops);

        Assert.Equal(6, cropsOnly.Count);
        Assert.Same(image, cropsOnly[0][0]);
        for (var v = 0; v < 6; v++)
            Assert.Equal(mirrored[v][0], cropsOnly[v][0]);
    }
}
