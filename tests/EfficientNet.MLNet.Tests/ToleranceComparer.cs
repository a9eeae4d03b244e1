namespace EfficientNet.MLNet.Tests;

/// <summary>Compares scores within an absolute tolerance (for Assert.Equal on float arrays).</summary>
internal sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
    public int GetHashCode(float obj) => 0;
}
