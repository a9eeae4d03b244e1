using EfficientNet.MLNet.Datasets;

namespace EfficientNet.MLNet.Tests.Datasets;

public class ImageFolderDatasetTests
{
    [Fact]
    public void Reads_one_class_per_subfolder_including_nested_images_and_lists_the_rest()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var drawn = SyntheticShapes.Write(folder.Path, imagesPerClass: 3, size: 16);
        Directory.CreateDirectory(folder.File("circle/more"));
        File.Copy(drawn[0].ImagePath, folder.File("circle/more/extra.PNG"));
        File.WriteAllText(folder.File("square/notes.txt"), "not an image");
        Directory.CreateDirectory(folder.File("empty"));

        var contents = ImageFolderDataset.Read(folder.Path);

        Assert.Equal(new[] { "circle", "cross", "empty", "square", "triangle" }, contents.Classes);
        Assert.Equal(13, contents.Images.Count);
        Assert.Equal(4, contents.Images.Count(i => i.Label == "circle"));
        Assert.Contains(contents.Images, i => i.ImagePath == folder.File("circle/more/extra.PNG"));
        Assert.Equal(new[] { folder.File("square/notes.txt") }, contents.SkippedFiles);
        Assert.All(contents.Images, i => Assert.True(Path.IsPathFullyQualified(i.ImagePath)));
    }

    [Fact]
    public void A_missing_folder_is_named()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Read("/nowhere/images"));

        Assert.Contains("/nowhere/images", error.Message);
    }
}
