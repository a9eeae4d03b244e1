namespace EfficientNet.MLNet;

/// <summary>An exception and the ones it wraps (ML.NET wraps errors in its own types), outermost first.</summary>
internal static class ExceptionCauses
{
    /// <summary>The chain of inner exceptions, following the first of an AggregateException's.</summary>
    public static IEnumerable<Exception> Of(Exception error)
    {
        for (Exception? e = error; e is not null; e = e is AggregateException { InnerExceptions.Count: > 0 } many ? many.InnerExceptions[0] : e.InnerException)
            yield return e;
    }
}
